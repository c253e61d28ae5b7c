"""The participant's pages: their profile across cohorts (/me), a proposal (accept or decline), a
pair's way to its relationship, the inbox, notification preferences, and suggestions after a partner
left. Relationships (agreement, sessions, goals, surveys) are in participant_relationships.py,
circles in participant_circles.py; both are included in `router`."""

from __future__ import annotations

from datetime import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bridge_web.api.deps import CurrentUser, csrf_protect, get_backend, require_user
from bridge_web.api.participant_circles import router as circles_router
from bridge_web.api.participant_common import (
    done,
    form_of,
    learn_profile,
    problem_context,
    see_other,
    t,
)
from bridge_web.api.participant_relationships import router as relationships_router
from bridge_web.api.rendering import render
from bridge_web.app import participant as uc
from bridge_web.app.backend import Backend, BackendProblem
from bridge_web.domain import participant as d
from bridge_web.domain.i18n import LOCALE_NAMES, LOCALES, N_

router = APIRouter(tags=["participant"])
router.include_router(relationships_router)
router.include_router(circles_router)

_ZONES_HINT = "Europe/Berlin"


# -- /me ----------------------------------------------------------------------------------------


@router.get("/me", response_class=HTMLResponse)
async def me(
    request: Request, user: CurrentUser = Depends(require_user), backend: Backend = Depends(get_backend)
) -> Response:
    if not user.is_participant:  # HR's pages are elsewhere; /me is a participant's own
        return see_other("/")
    view = await uc.overview(backend)
    if view.profiles:
        learn_profile(request, view.profiles[0])
    return render(
        request,
        "participant/me.html",
        {
            "view": view,
            "d": d,
            "partner_name": d.partner_name,
        },
    )


def _profile_url(cohort_id: str, participant_id: str) -> str:
    return f"/me/cohorts/{cohort_id}/participants/{participant_id}"


@router.get("/me/cohorts/{cohort_id}/participants/{participant_id}", response_class=HTMLResponse)
async def profile_page(
    request: Request,
    cohort_id: str,
    participant_id: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    profile = await uc.profile(backend, cohort_id, participant_id)
    learn_profile(request, profile)
    return _profile_form(request, profile, None, None)


def _profile_form(
    request: Request,
    profile: dict[str, Any],
    values: dict[str, str] | None,
    problem: BackendProblem | None,
    extra_errors: dict[str, list[str]] | None = None,
) -> HTMLResponse:
    context = problem_context(problem, {"availability": "availability"})
    context["errors"].update(extra_errors or {})
    form = values or {
        "skills_to_share": ", ".join(profile.get("skills_to_share") or []),
        "skills_to_learn": ", ".join(profile.get("skills_to_learn") or []),
        "languages": ", ".join(profile.get("languages") or []),
        "timezone": str(profile.get("timezone") or ""),
        "locale": str(profile.get("locale") or ""),
        "meeting_preference": str(profile.get("meeting_preference") or "either"),
    }
    windows = profile.get("availability") or []
    if values is not None:
        windows = d.parse_availability(values).windows
    return render(
        request,
        "participant/profile.html",
        {
            "profile": profile,
            "form": form,
            "days": d.availability_rows(windows),
            "weekdays": d.WEEKDAY_LABELS,
            "locales": [(code, LOCALE_NAMES[code]) for code in LOCALES],
            "meeting_preferences": list(d.MEETING_PREFERENCES.items()),
            "zone_hint": _ZONES_HINT,
            **context,
        },
        status_code=422 if (problem or extra_errors) else 200,
    )


@router.post(
    "/me/cohorts/{cohort_id}/participants/{participant_id}",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf_protect)],
)
async def save_profile(
    request: Request,
    cohort_id: str,
    participant_id: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    profile = await uc.profile(backend, cohort_id, participant_id)
    windows = d.parse_availability(form)
    if windows.errors:
        errors = {k: [t(request, m) for m in v] for k, v in windows.errors.items()}
        return _profile_form(request, profile, form, None, errors)
    changes = {
        "skills_to_share": d.comma_list(form.get("skills_to_share")),
        "skills_to_learn": d.comma_list(form.get("skills_to_learn")),
        "languages": d.comma_list(form.get("languages")),
        "timezone": (form.get("timezone") or "").strip(),
        "locale": (form.get("locale") or "").strip(),
        "meeting_preference": form.get("meeting_preference") or "either",
        "availability": windows.windows,
    }
    try:
        saved = await uc.update_profile(backend, cohort_id, participant_id, changes)
    except BackendProblem as problem:
        if problem.status in (400, 409, 422):
            return _profile_form(request, profile, form, problem)
        raise
    learn_profile(request, saved)
    return done(request, _profile_url(cohort_id, participant_id), N_("Your profile is saved."))


# -- proposals ----------------------------------------------------------------------------------


async def _proposal_page(
    request: Request,
    user: CurrentUser,
    backend: Backend,
    proposal_id: str,
    response: d.Response | None,
    problem: BackendProblem | None = None,
    reason: str = "",
) -> HTMLResponse:
    proposal = await uc.proposal(backend, proposal_id)
    side, profile = await uc.proposal_side_for(backend, proposal, user.subject)
    learn_profile(request, profile)
    mine = proposal.get(f"{side}_response") if side else None
    theirs = proposal.get(f"{d.other_side(side)}_response") if side else None
    return render(
        request,
        "participant/proposal.html",
        {
            "proposal": proposal,
            "side": side,
            "my_response": mine,
            "their_response": theirs,
            "response": response,
            "can_answer": side is not None and mine is None and d.proposal_open(proposal),
            "explanation": d.explanation_parts(proposal.get("explanation")),
            "breakdown": d.breakdown_rows(proposal.get("breakdown") or {}),
            "status_label": d.STATUS_LABELS.get(str(proposal.get("status")), str(proposal.get("status"))),
            "reason": reason,
            **problem_context(problem),
        },
        status_code=problem.status if problem and problem.status in (409, 422) else 200,
    )


@router.get("/proposals/{proposal_id}", response_class=HTMLResponse)
async def proposal_page(
    request: Request,
    proposal_id: str,
    response: str | None = None,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    """The proposal with its explanation. `?response=accept|decline` (the e-mail's links) only
    preselects the answer: nothing changes until the form is posted."""
    return await _proposal_page(request, user, backend, proposal_id, d.chosen_response(response))


@router.post("/proposals/{proposal_id}", response_class=HTMLResponse, dependencies=[Depends(csrf_protect)])
async def answer_proposal(
    request: Request,
    proposal_id: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    response = d.chosen_response(form.get("response"))
    if response is None:
        return see_other(f"/proposals/{proposal_id}")
    reason = d.optional_text(form.get("reason"))
    try:
        answered = await uc.respond(backend, proposal_id, response, reason)
    except BackendProblem as problem:
        if problem.status in (409, 422):
            return await _proposal_page(request, user, backend, proposal_id, response, problem, reason or "")
        raise
    if response == "accept":
        message = (
            N_("You accepted. Your pair is formed: welcome to your reverse mentoring relationship.")
            if answered.get("pair_id")
            else N_("You accepted. We will tell you when your partner has answered too.")
        )
    else:
        message = N_("You declined this proposal. Thank you for telling us.")
    return done(request, f"/proposals/{proposal_id}", message)


# -- pairs --------------------------------------------------------------------------------------


@router.get("/pairs/{pair_id}", response_class=HTMLResponse)
async def pair_page(
    request: Request,
    pair_id: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    """A pair's relationship when sessions has opened it; until then, a page saying so."""
    rel = await uc.relationship_for_pair(backend, pair_id)
    if rel is not None:
        return RedirectResponse(f"/relationships/{rel['id']}", status_code=303)
    return render(request, "participant/pair.html", {"pair_id": pair_id})


# -- inbox --------------------------------------------------------------------------------------


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(
    request: Request,
    unread: bool = False,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    items = await uc.inbox(backend, unread_only=unread) if user.is_participant else []
    for item in items:
        item["path"] = d.local_path(item.get("link"))
    return render(request, "participant/inbox.html", {"items": items, "unread": unread})


@router.post("/inbox/{item_id}/read", dependencies=[Depends(csrf_protect)])
async def inbox_read(
    request: Request,
    item_id: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    await uc.mark_read(backend, item_id)
    return done(request, "/inbox", N_("Marked as read."))


@router.post("/inbox/read-all", dependencies=[Depends(csrf_protect)])
async def inbox_read_all(
    request: Request, user: CurrentUser = Depends(require_user), backend: Backend = Depends(get_backend)
) -> Response:
    await uc.mark_all_read(backend)
    return done(request, "/inbox", N_("Everything is marked as read."))


# -- preferences --------------------------------------------------------------------------------

CHANNELS: dict[str, str] = {
    "email": N_("E-mail"),
    "inbox": N_("Inbox in Bridge"),
    "chat": N_("Chat (Slack or Teams)"),
}
DIGESTS: dict[str, str] = {"immediate": N_("Send each message at once"), "daily": N_("One summary a day")}


def _preferences_form(
    request: Request,
    prefs: dict[str, Any],
    values: dict[str, Any] | None = None,
    problem: BackendProblem | None = None,
    recipient: dict[str, Any] | None = None,
) -> HTMLResponse:
    own = prefs.get("own") or {}
    effective = prefs.get("effective") or {}
    if values is None:
        channels = own.get("channels")
        values = {
            "channels": channels if channels is not None else effective.get("channels") or [],
            "quiet_start": str(own.get("quiet_start") or "")[:5],
            "quiet_end": str(own.get("quiet_end") or "")[:5],
            "digest": own.get("digest") or effective.get("digest") or "immediate",
            "locale": own.get("locale") or "",
            "timezone": own.get("timezone") or "",
        }
    return render(
        request,
        "participant/preferences.html",
        {
            "prefs": prefs,
            "effective": effective,
            "form": values,
            "channels": list(CHANNELS.items()),
            "digests": list(DIGESTS.items()),
            "locales": [("", "")] + [(code, LOCALE_NAMES[code]) for code in LOCALES],
            "recipient": recipient,
            **problem_context(problem),
        },
        status_code=422 if problem else 200,
    )


@router.get("/preferences", response_class=HTMLResponse)
async def preferences_page(
    request: Request, user: CurrentUser = Depends(require_user), backend: Backend = Depends(get_backend)
) -> Response:
    return _preferences_form(request, await uc.preferences(backend))


@router.get("/preferences/{recipient_id}", response_class=HTMLResponse)
async def preferences_link(
    request: Request,
    recipient_id: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    """The e-mail footer's link. A participant sees (and changes) their own preferences whatever the
    id; HR sees that participant's, read only, when the participant is theirs to see."""
    if user.is_participant:
        return _preferences_form(request, await uc.preferences(backend))
    theirs = await uc.participant_preferences(backend, recipient_id)
    if theirs is None:
        return see_other("/")
    return render(request, "participant/preferences_hr.html", {"prefs": theirs, "recipient_id": recipient_id})


def _time_or_none(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return time.fromisoformat(text).strftime("%H:%M")
    except ValueError:
        return text  # the service names it


@router.post("/preferences", response_class=HTMLResponse, dependencies=[Depends(csrf_protect)])
async def save_preferences(
    request: Request, user: CurrentUser = Depends(require_user), backend: Backend = Depends(get_backend)
) -> Response:
    form = await request.form()
    channels = sorted({str(c) for c in form.getlist("channels") if str(c) in CHANNELS})
    body: dict[str, Any] = {
        "channels": channels,
        "quiet_start": _time_or_none(str(form.get("quiet_start") or "")),
        "quiet_end": _time_or_none(str(form.get("quiet_end") or "")),
        "digest": str(form.get("digest") or "immediate"),
        "locale": str(form.get("locale") or "") or None,
        "timezone": str(form.get("timezone") or "").strip() or None,
    }
    try:
        await uc.save_preferences(backend, body)
    except BackendProblem as problem:
        if problem.status == 422:
            values = {**body, "quiet_start": form.get("quiet_start"), "quiet_end": form.get("quiet_end")}
            return _preferences_form(request, await uc.preferences(backend), values, problem)
        raise
    return done(request, "/preferences", N_("Your notification preferences are saved."))


# -- suggestions (after a partner left) ---------------------------------------------------------


@router.get("/cohorts/{cohort_id}/participants/{participant_id}/suggestions", response_class=HTMLResponse)
async def suggestions_page(
    request: Request,
    cohort_id: str,
    participant_id: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    """What matching suggests to someone whose partner left; they ask for one of them (a partner
    request), or wait for HR's next matching run."""
    found = await uc.suggestions(backend, cohort_id, participant_id)
    return render(
        request,
        "participant/suggestions.html",
        {
            "suggestions": found,
            "cohort_id": cohort_id,
            "participant_id": participant_id,
            "explanation_parts": d.explanation_parts,
        },
    )


@router.post(
    "/cohorts/{cohort_id}/participants/{participant_id}/suggestions",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf_protect)],
)
async def request_partner(
    request: Request,
    cohort_id: str,
    participant_id: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    try:
        proposal = await uc.request_partner(backend, cohort_id, participant_id, form.get("partner_id", ""))
    except BackendProblem as problem:
        if problem.status in (409, 422):
            found = await uc.suggestions(backend, cohort_id, participant_id)
            return render(
                request,
                "participant/suggestions.html",
                {
                    "suggestions": found,
                    "cohort_id": cohort_id,
                    "participant_id": participant_id,
                    "explanation_parts": d.explanation_parts,
                    **problem_context(problem),
                },
                status_code=problem.status,
            )
        raise
    return done(
        request,
        f"/proposals/{proposal['id']}",
        N_("Your request is sent: your new partner is asked to accept."),
    )
