"""A mentoring circle, as a member sees it: the invitation (accept or decline), the circle, its
agreement (draft, confirm), its sessions (schedule, move, cancel), a session's activity, and the
facilitator's record of a held session (attendance, the activity's ideas, who taught what to whom),
for a scheduled session once it has started or for one that happened without being scheduled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from bridge_web.api.deps import CurrentUser, csrf_protect, get_backend, request_locale, require_user
from bridge_web.api.participant_common import done, form_of, problem_context, see_other, zone_of
from bridge_web.api.rendering import render
from bridge_web.app import participant as uc
from bridge_web.app.backend import Backend, BackendProblem
from bridge_web.domain import participant as d
from bridge_web.domain.i18n import N_

router = APIRouter()
_FORM_ERRORS = (400, 403, 409, 422)


def _me_in(invitation: dict[str, Any], subject: str) -> dict[str, Any] | None:
    return next(
        (
            m
            for m in invitation.get("members") or []
            if str(m.get("employee_id", "")).casefold() == subject.casefold()
        ),
        None,
    )


async def _invitation_page(
    request: Request,
    user: CurrentUser,
    backend: Backend,
    cid: str,
    response: d.Response | None,
    problem: BackendProblem | None = None,
) -> Response:
    invitation = await uc.circle_invitation(backend, cid)
    me = _me_in(invitation, user.subject)
    open_ = invitation.get("status") == "proposed" and me is not None and me.get("status") == "invited"
    return render(
        request,
        "participant/circle_invitation.html",
        {
            "circle": invitation,
            "me": me,
            "response": response,
            "can_answer": open_,
            "explanation": d.explanation_parts(invitation.get("explanation")),
            "status_labels": d.STATUS_LABELS,
            **problem_context(problem),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/circles/{cid}/invitation", response_class=HTMLResponse)
async def invitation_page(
    request: Request,
    cid: str,
    response: str | None = None,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    """The e-mail's accept / decline link: it preselects the answer; only the posted form acts."""
    return await _invitation_page(request, user, backend, cid, d.chosen_response(response))


@router.post("/circles/{cid}/invitation", response_class=HTMLResponse, dependencies=[Depends(csrf_protect)])
async def answer_invitation(
    request: Request,
    cid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    response = d.chosen_response(form.get("response"))
    if response is None:
        return see_other(f"/circles/{cid}/invitation")
    try:
        await uc.answer_circle(backend, cid, response, d.optional_text(form.get("reason")))
    except BackendProblem as problem:
        if problem.status in _FORM_ERRORS:
            return await _invitation_page(request, user, backend, cid, response, problem)
        raise
    message = (
        N_("You accepted: welcome to the circle.")
        if response == "accept"
        else N_("You declined. Thank you for telling us.")
    )
    return done(request, f"/circles/{cid}/invitation", message)


async def _circle_page(
    request: Request,
    user: CurrentUser,
    backend: Backend,
    cid: str,
    values: dict[str, str],
    problem: BackendProblem | None,
) -> Response:
    circle = await uc.circle(backend, cid)
    if circle is None:  # not formed yet: the invitation is what there is
        return see_other(f"/circles/{cid}/invitation")
    sessions = d.split_sessions(await uc.circle_sessions(backend, cid), datetime.now(UTC))
    return render(
        request,
        "participant/circle.html",
        {
            "circle": circle,
            "sessions": sessions,
            "names": {m["participant_id"]: m["display_name"] for m in circle.get("members") or []},
            "form": values or {"duration_minutes": "60"},
            "zone": zone_of(request),
            "status_labels": d.STATUS_LABELS,
            "risk_labels": d.RISK_LABELS,
            **problem_context(problem, {"local_start": "starts_at", "timezone": "starts_at"}),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/circles/{cid}", response_class=HTMLResponse)
async def circle_page(
    request: Request,
    cid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    return await _circle_page(request, user, backend, cid, {}, None)


def _when(form: dict[str, str], zone: str) -> dict[str, Any]:
    local = d.parse_local_input(form.get("starts_at"))
    return {"local_start": local.isoformat() if local else None, "timezone": zone}


@router.post("/circles/{cid}/sessions", response_class=HTMLResponse, dependencies=[Depends(csrf_protect)])
async def schedule_circle_session(
    request: Request,
    cid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    body = {
        **_when(form, zone_of(request)),
        "duration_minutes": d.parse_int(form.get("duration_minutes")) or form.get("duration_minutes"),
        "location": d.optional_text(form.get("location")),
    }
    try:
        await uc.circle_post(backend, cid, "/sessions", body)
    except BackendProblem as problem:
        if problem.status in _FORM_ERRORS:
            return await _circle_page(request, user, backend, cid, form, problem)
        raise
    return done(
        request, f"/circles/{cid}", N_("The session is scheduled; every member gets a calendar invitation.")
    )


# -- agreement ----------------------------------------------------------------------------------


async def _agreement_page(
    request: Request,
    backend: Backend,
    cid: str,
    values: dict[str, str] | None,
    problem: BackendProblem | None,
) -> Response:
    circle = await uc.circle(backend, cid)
    if circle is None:
        return see_other(f"/circles/{cid}/invitation")
    view = await uc.circle_agreement(backend, cid)
    me = circle.get("my_participant_id")
    pending = view.get("pending")
    current = pending or view.get("active")
    mine = next((m for m in (pending or {}).get("members") or [] if m.get("participant_id") == me), None)
    form = values
    if form is None:
        goals = {
            m.get("participant_id"): m.get("personal_goal") or ""
            for m in (current or {}).get("members") or []
        }
        form = {
            "shared_goals": "\n".join((current or {}).get("shared_goals") or []),
            "cadence_days": str((current or {}).get("cadence_days") or 14),
            "rules_of_engagement": str((current or {}).get("rules_of_engagement") or ""),
            "end_date": str((current or {}).get("end_date") or ""),
            **{f"goal_{pid}": str(goal) for pid, goal in goals.items()},
        }
    return render(
        request,
        "participant/circle_agreement.html",
        {
            "circle": circle,
            "view": view,
            "form": form,
            "to_confirm": bool(pending and mine and not mine.get("confirmed_at")),
            "names": {m["participant_id"]: m["display_name"] for m in circle.get("members") or []},
            **problem_context(problem),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/circles/{cid}/agreement", response_class=HTMLResponse)
async def circle_agreement_page(
    request: Request,
    cid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    return await _agreement_page(request, backend, cid, None, None)


@router.post("/circles/{cid}/agreement", response_class=HTMLResponse, dependencies=[Depends(csrf_protect)])
async def draft_circle_agreement(
    request: Request,
    cid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    circle = await uc.circle(backend, cid)
    members = [m["participant_id"] for m in (circle or {}).get("members") or []]
    body = {
        "shared_goals": d.lines(form.get("shared_goals")),
        "personal_goals": [
            {"participant_id": pid, "goal": (form.get(f"goal_{pid}") or "").strip()}
            for pid in members
            if (form.get(f"goal_{pid}") or "").strip()
        ],
        "cadence_days": d.parse_int(form.get("cadence_days")) or form.get("cadence_days"),
        # sessions keeps a circle's ground rules as one text (a pair's are a list).
        "rules_of_engagement": d.optional_text(form.get("rules_of_engagement")),
        "end_date": (form.get("end_date") or "").strip() or None,
    }
    try:
        await uc.circle_post(backend, cid, "/agreement", body)
    except BackendProblem as problem:
        if problem.status in _FORM_ERRORS:
            return await _agreement_page(request, backend, cid, form, problem)
        raise
    return done(
        request, f"/circles/{cid}/agreement", N_("Your draft is saved; every member is asked to confirm it.")
    )


@router.post(
    "/circles/{cid}/agreement/versions/{version}/confirm",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf_protect)],
)
async def confirm_circle_agreement(
    request: Request,
    cid: str,
    version: int,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    goal = d.optional_text(form.get("personal_goal"))
    try:
        await uc.circle_post(
            backend, cid, f"/agreement/versions/{version}/confirm", {"personal_goal": goal} if goal else {}
        )
    except BackendProblem as problem:
        if problem.status in _FORM_ERRORS:
            return await _agreement_page(request, backend, cid, None, problem)
        raise
    return done(request, f"/circles/{cid}/agreement", N_("You confirmed the agreement."))


# -- the facilitator's record of a held session ---------------------------------------------------

HeldMode = Literal["held", "log"]
_HELD_ALIASES = {
    "attended_ids": "attended",
    "ideas_participant_id": "ideas",
    "ideas_text": "ideas",
    "ideas": "ideas",
    "learning_from_id": "learning",
    "learning_to_id": "learning",
    "learning_topic": "learning",
    "learning": "learning",
    "local_start": "starts_at",
    "timezone": "starts_at",
}
MIN_LEARNING_ROWS = 4
MAX_LEARNING_ROWS = 20


def learning_rows(member_count: int) -> int:
    """How many "who taught what to whom" rows the form offers: one per member, at least four."""
    return max(MIN_LEARNING_ROWS, min(member_count, MAX_LEARNING_ROWS))


def held_form_defaults(
    members: Sequence[Mapping[str, Any]], session: Mapping[str, Any] | None
) -> dict[str, str]:
    """A fresh record: everyone present (the facilitator unticks who stayed away), the session's
    activity, no ideas and no learning yet."""
    activity = (session or {}).get("activity") or {}
    form = {f"attended_{m['participant_id']}": "yes" for m in members}
    form["activity_id"] = str(activity.get("id") or "")
    return form


def held_fields(form: Mapping[str, str], member_ids: Sequence[str], rows: int) -> dict[str, Any]:
    """The held fields of sessions' record (`attended_ids`, `activity_id`, `ideas`, `learning`) from
    the form: a box per member for attendance and one for the ideas they brought (one a line), and
    rows of who taught whom what; a row left wholly empty is ignored, a half-filled one is sent as it
    is so that sessions names what is missing."""
    ideas = [
        {"participant_id": pid, "text": text}
        for pid in member_ids
        for text in d.lines(form.get(f"ideas_{pid}"))
    ]
    learning: list[dict[str, str]] = []
    for row in range(rows):
        taught = (form.get(f"learning_{row}_from") or "").strip()
        learnt = (form.get(f"learning_{row}_to") or "").strip()
        topic = " ".join((form.get(f"learning_{row}_topic") or "").split())
        if taught or learnt or topic:
            learning.append({"from_id": taught, "to_id": learnt, "topic": topic})
    return {
        "attended_ids": [pid for pid in member_ids if form.get(f"attended_{pid}")],
        "activity_id": (form.get("activity_id") or "").strip() or None,
        "ideas": ideas,
        "learning": learning,
    }


async def _held_page(
    request: Request,
    backend: Backend,
    cid: str,
    sid: str | None,
    values: dict[str, str] | None,
    problem: BackendProblem | None,
) -> Response:
    circle = await uc.circle(backend, cid)
    if circle is None:
        return see_other(f"/circles/{cid}/invitation")
    members = circle.get("members") or []
    session = await uc.circle_session(backend, cid, sid) if sid else None
    zone = zone_of(request)
    form = values
    if form is None:
        form = held_form_defaults(members, session)
        if session is None:
            form["duration_minutes"] = "60"
    mode: HeldMode = "held" if session is not None else "log"
    return render(
        request,
        "participant/circle_held.html",
        {
            "circle": circle,
            "session": session,
            "mode": mode,
            "action": f"/circles/{cid}/sessions/{sid}/held" if sid else f"/circles/{cid}/sessions/log",
            "can_record": bool(circle.get("i_facilitate"))
            and (session is None or d.session_needs_record(session, datetime.now(UTC))),
            "zone": zone,
            "form": form,
            "rows": learning_rows(len(members)),
            "member_options": [("", "—")] + [(m["participant_id"], m["display_name"]) for m in members],
            "activities": await uc.activities(backend, request_locale(request)),
            "status_labels": d.STATUS_LABELS,
            **problem_context(problem, _HELD_ALIASES),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/circles/{cid}/sessions/log", response_class=HTMLResponse)
async def log_circle_session_page(
    request: Request,
    cid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    """The facilitator records a session that happened without being scheduled."""
    return await _held_page(request, backend, cid, None, None, None)


@router.post("/circles/{cid}/sessions/log", response_class=HTMLResponse, dependencies=[Depends(csrf_protect)])
async def log_circle_session(
    request: Request,
    cid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    circle = await uc.circle(backend, cid)
    members = [str(m["participant_id"]) for m in (circle or {}).get("members") or []]
    body = {
        **_when(form, zone_of(request)),
        "duration_minutes": d.parse_int(form.get("duration_minutes")) or form.get("duration_minutes"),
        "location": d.optional_text(form.get("location")),
        **held_fields(form, members, learning_rows(len(members))),
    }
    try:
        logged = await uc.circle_post(backend, cid, "/sessions/log", body)
    except BackendProblem as problem:
        if problem.status in _FORM_ERRORS:
            return await _held_page(request, backend, cid, None, form, problem)
        raise
    return done(request, f"/circles/{cid}/sessions/{logged['id']}", N_("The session is recorded as held."))


@router.get("/circles/{cid}/sessions/{sid}/held", response_class=HTMLResponse)
async def record_held_page(
    request: Request,
    cid: str,
    sid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    """The facilitator records a scheduled session as held, once it has started."""
    return await _held_page(request, backend, cid, sid, None, None)


@router.post(
    "/circles/{cid}/sessions/{sid}/held", response_class=HTMLResponse, dependencies=[Depends(csrf_protect)]
)
async def record_held(
    request: Request,
    cid: str,
    sid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    circle = await uc.circle(backend, cid)
    members = [str(m["participant_id"]) for m in (circle or {}).get("members") or []]
    body = held_fields(form, members, learning_rows(len(members)))
    try:
        await uc.circle_post(backend, cid, f"/sessions/{sid}/held", body)
    except BackendProblem as problem:
        if problem.status in _FORM_ERRORS:
            return await _held_page(request, backend, cid, sid, form, problem)
        raise
    return done(request, f"/circles/{cid}/sessions/{sid}", N_("The session is recorded as held."))


# -- sessions and activities --------------------------------------------------------------------


async def _session_page(
    request: Request,
    backend: Backend,
    cid: str,
    sid: str,
    template: str,
    values: dict[str, str] | None,
    problem: BackendProblem | None,
) -> Response:
    circle = await uc.circle(backend, cid)
    if circle is None:
        return see_other(f"/circles/{cid}/invitation")
    session = await uc.circle_session(backend, cid, sid)
    zone = zone_of(request)
    library = await uc.activities(backend, request_locale(request))
    return render(
        request,
        template,
        {
            "circle": circle,
            "session": session,
            "zone": zone,
            "names": {m["participant_id"]: m["display_name"] for m in circle.get("members") or []},
            "activities": library,
            "form": values
            or {
                "starts_at": d.local_input_value(session.get("starts_at"), zone),
                "duration_minutes": str(session.get("duration_minutes") or 60),
                "location": str(session.get("location") or ""),
            },
            "can_change": session.get("status") == "scheduled",
            "can_record": bool(circle.get("i_facilitate"))
            and d.session_needs_record(session, datetime.now(UTC)),
            "status_labels": d.STATUS_LABELS,
            **problem_context(problem, {"local_start": "starts_at", "timezone": "starts_at"}),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/circles/{cid}/sessions/{sid}", response_class=HTMLResponse)
async def circle_session_page(
    request: Request,
    cid: str,
    sid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    return await _session_page(request, backend, cid, sid, "participant/circle_session.html", None, None)


@router.get("/circles/{cid}/sessions/{sid}/activity", response_class=HTMLResponse)
async def circle_activity_page(
    request: Request,
    cid: str,
    sid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    return await _session_page(request, backend, cid, sid, "participant/circle_activity.html", None, None)


@router.post(
    "/circles/{cid}/sessions/{sid}/{action}",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf_protect)],
)
async def circle_session_action(
    request: Request,
    cid: str,
    sid: str,
    action: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    template = "participant/circle_session.html"
    try:
        if action == "reschedule":
            body = {
                **_when(form, zone_of(request)),
                "duration_minutes": d.parse_int(form.get("duration_minutes")),
                "location": d.optional_text(form.get("location")),
            }
            await uc.circle_post(backend, cid, f"/sessions/{sid}/reschedule", body)
            message = N_("The session is moved; every member gets an updated invitation.")
        elif action == "cancel":
            await uc.circle_post(
                backend, cid, f"/sessions/{sid}/cancel", {"reason": d.optional_text(form.get("reason"))}
            )
            message = N_("The session is cancelled.")
        elif action == "activity":
            template = "participant/circle_activity.html"
            await uc.circle_patch(
                backend, cid, f"/sessions/{sid}", {"activity_id": form.get("activity_id") or None}
            )
            message = N_("The activity is chosen.")
        else:
            return see_other(f"/circles/{cid}/sessions/{sid}")
    except BackendProblem as problem:
        if problem.status in _FORM_ERRORS:
            return await _session_page(request, backend, cid, sid, template, form, problem)
        raise
    target = f"/circles/{cid}/sessions/{sid}" + ("/activity" if action == "activity" else "")
    return done(request, target, message)
