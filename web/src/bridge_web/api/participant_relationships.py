"""A relationship's pages: the overview, the agreement (draft, confirm), sessions (schedule,
reschedule, cancel, record as held, log one that happened), goals and check-ins, the pulse after a
session, the mid-point and closing surveys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from bridge_web.api.deps import CurrentUser, csrf_protect, get_backend, require_user
from bridge_web.api.participant_common import done, form_of, problem_context, see_other, zone_of
from bridge_web.api.rendering import render
from bridge_web.app import participant as uc
from bridge_web.app.backend import Backend, BackendProblem
from bridge_web.domain import participant as d
from bridge_web.domain.i18n import N_

router = APIRouter()

_FORM_ERRORS = (400, 403, 409, 422)


def _base(rid: str) -> str:
    return f"/relationships/{rid}"


def _labels() -> dict[str, Any]:
    return {
        "status_labels": d.STATUS_LABELS,
        "risk_labels": d.RISK_LABELS,
        "direction_labels": d.DIRECTION_LABELS,
        "meeting_modes": d.MEETING_MODES,
    }


# -- overview -----------------------------------------------------------------------------------


@router.get("/relationships/{rid}", response_class=HTMLResponse)
async def relationship_page(
    request: Request,
    rid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    page = await uc.relationship_page(backend, rid)
    side = d.my_side(page.rel)
    now = datetime.now(UTC)
    return render(
        request,
        "participant/relationship.html",
        {
            "page": page,
            "rel": page.rel,
            "side": side,
            "partner": d.partner_name(page.rel),
            "zone": d.my_timezone(page.rel, zone_of(request)),
            "to_confirm": d.awaiting_my_confirmation(page.agreement.get("pending"), side),
            "needs_record": [
                s["id"] for s in page.sessions.past + page.sessions.upcoming if d.session_needs_record(s, now)
            ],
            "my_goals": [g for g in page.goals if g.get("owner_side") == side],
            "their_goals": [g for g in page.goals if g.get("owner_side") != side],
            "rated": {
                f.get("session_id")
                for f in page.feedback
                if f.get("kind") == "pulse" and f.get("by_side") == side
            },
            "surveys_done": {f.get("kind") for f in page.feedback if f.get("by_side") == side},
            **_labels(),
        },
    )


# -- agreement ----------------------------------------------------------------------------------


async def _agreement_page(
    request: Request,
    backend: Backend,
    rid: str,
    values: dict[str, str] | None = None,
    problem: BackendProblem | None = None,
) -> Response:
    rel = await uc.relationship(backend, rid)
    view = await uc.agreement(backend, rid)
    side = d.my_side(rel)
    current = view.get("pending") or view.get("active")
    return render(
        request,
        "participant/agreement.html",
        {
            "rel": rel,
            "side": side,
            "view": view,
            "form": values if values is not None else d.agreement_form(current),
            "to_confirm": d.awaiting_my_confirmation(view.get("pending"), side),
            "modes": list(d.MEETING_MODES.items()),
            **problem_context(problem),
            **_labels(),
        },
        status_code=422 if problem and problem.status == 422 else (problem.status if problem else 200),
    )


@router.get("/relationships/{rid}/agreement", response_class=HTMLResponse)
async def agreement_page(
    request: Request,
    rid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    return await _agreement_page(request, backend, rid)


@router.post(
    "/relationships/{rid}/agreement", response_class=HTMLResponse, dependencies=[Depends(csrf_protect)]
)
async def draft_agreement(
    request: Request,
    rid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    try:
        await uc.draft_agreement(backend, rid, d.agreement_body(form))
    except BackendProblem as problem:
        if problem.status in _FORM_ERRORS:
            return await _agreement_page(request, backend, rid, form, problem)
        raise
    return done(
        request, f"{_base(rid)}/agreement", N_("Your draft is saved and your partner is asked to confirm it.")
    )


@router.post(
    "/relationships/{rid}/agreement/versions/{version}/confirm",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf_protect)],
)
async def confirm_agreement(
    request: Request,
    rid: str,
    version: int,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    try:
        await uc.confirm_agreement(backend, rid, version)
    except BackendProblem as problem:
        if problem.status in _FORM_ERRORS:
            return await _agreement_page(request, backend, rid, None, problem)
        raise
    return done(request, f"{_base(rid)}/agreement", N_("You confirmed the agreement."))


# -- sessions -----------------------------------------------------------------------------------


async def _session_form(
    request: Request,
    backend: Backend,
    rid: str,
    template: str,
    values: dict[str, str],
    problem: BackendProblem | None = None,
    session: dict[str, Any] | None = None,
) -> Response:
    rel = await uc.relationship(backend, rid)
    return render(
        request,
        template,
        {
            "rel": rel,
            "side": d.my_side(rel),
            "session": session,
            "form": values,
            "zone": d.my_timezone(rel, zone_of(request)),
            **problem_context(
                problem, {"local_start": "starts_at", "timezone": "starts_at", "topics": "mentor_topics"}
            ),
            **_labels(),
        },
        status_code=problem.status if problem else 200,
    )


def _when(form: dict[str, str], zone: str) -> dict[str, Any]:
    local = d.parse_local_input(form.get("starts_at"))
    return {"local_start": local.isoformat() if local else None, "timezone": zone}


@router.get("/relationships/{rid}/sessions/new", response_class=HTMLResponse)
async def new_session(
    request: Request,
    rid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    return await _session_form(
        request, backend, rid, "participant/session_new.html", {"duration_minutes": "60"}
    )


@router.post(
    "/relationships/{rid}/sessions", response_class=HTMLResponse, dependencies=[Depends(csrf_protect)]
)
async def schedule_session(
    request: Request,
    rid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    rel = await uc.relationship(backend, rid)
    body = {
        **_when(form, d.my_timezone(rel, zone_of(request))),
        "duration_minutes": d.parse_int(form.get("duration_minutes")) or form.get("duration_minutes"),
        "location": d.optional_text(form.get("location")),
    }
    try:
        await uc.session_action(backend, rid, "", body)
    except BackendProblem as problem:
        if problem.status in _FORM_ERRORS:
            return await _session_form(request, backend, rid, "participant/session_new.html", form, problem)
        raise
    return done(request, _base(rid), N_("The session is scheduled; you both get a calendar invitation."))


@router.get("/relationships/{rid}/sessions/log", response_class=HTMLResponse)
async def log_session_page(
    request: Request,
    rid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    return await _session_form(
        request, backend, rid, "participant/session_log.html", {"actual_duration_minutes": "60"}
    )


def _held_fields(form: dict[str, str]) -> dict[str, Any]:
    return {
        "actual_duration_minutes": d.parse_int(form.get("actual_duration_minutes"))
        or form.get("actual_duration_minutes"),
        "topics": d.topics_from_form(form.get("mentor_topics"), form.get("mentee_topics")),
        "shared_notes": d.optional_text(form.get("shared_notes")),
        "private_note": d.optional_text(form.get("private_note")),
    }


@router.post(
    "/relationships/{rid}/sessions/log", response_class=HTMLResponse, dependencies=[Depends(csrf_protect)]
)
async def log_session(
    request: Request,
    rid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    rel = await uc.relationship(backend, rid)
    body = {
        **_when(form, d.my_timezone(rel, zone_of(request))),
        "location": d.optional_text(form.get("location")),
        **_held_fields(form),
    }
    try:
        await uc.session_action(backend, rid, "/log", body)
    except BackendProblem as problem:
        if problem.status in _FORM_ERRORS:
            return await _session_form(request, backend, rid, "participant/session_log.html", form, problem)
        raise
    return done(request, _base(rid), N_("The session is recorded as held. Thank you!"))


@router.get("/relationships/{rid}/sessions/{sid}", response_class=HTMLResponse)
async def session_page(
    request: Request,
    rid: str,
    sid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    session = await uc.session(backend, rid, sid)
    return await _session_page(request, backend, rid, session)


async def _session_page(
    request: Request,
    backend: Backend,
    rid: str,
    session: dict[str, Any],
    values: dict[str, str] | None = None,
    problem: BackendProblem | None = None,
) -> Response:
    rel = await uc.relationship(backend, rid)
    zone = d.my_timezone(rel, zone_of(request))
    now = datetime.now(UTC)
    form = values or {
        "starts_at": d.local_input_value(session.get("starts_at"), zone),
        "duration_minutes": str(session.get("duration_minutes") or 60),
        "location": str(session.get("location") or ""),
        "actual_duration_minutes": str(session.get("duration_minutes") or 60),
    }
    return render(
        request,
        "participant/session.html",
        {
            "rel": rel,
            "side": d.my_side(rel),
            "session": session,
            "zone": zone,
            "form": form,
            "can_change": session.get("status") == "scheduled",
            "can_record": d.session_needs_record(session, now),
            **problem_context(
                problem, {"local_start": "starts_at", "timezone": "starts_at", "topics": "mentor_topics"}
            ),
            **_labels(),
        },
        status_code=problem.status if problem else 200,
    )


async def _session_post(
    request: Request, backend: Backend, rid: str, sid: str, path: str, body: dict[str, Any], message: str
) -> Response:
    try:
        await uc.session_action(backend, rid, f"/{sid}/{path}", body)
    except BackendProblem as problem:
        if problem.status in _FORM_ERRORS:
            session = await uc.session(backend, rid, sid)
            return await _session_page(request, backend, rid, session, await form_of(request), problem)
        raise
    return done(request, f"{_base(rid)}/sessions/{sid}", message)


@router.post(
    "/relationships/{rid}/sessions/{sid}/reschedule",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf_protect)],
)
async def reschedule_session(
    request: Request,
    rid: str,
    sid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    rel = await uc.relationship(backend, rid)
    body = {
        **_when(form, d.my_timezone(rel, zone_of(request))),
        "duration_minutes": d.parse_int(form.get("duration_minutes")) or form.get("duration_minutes"),
        "location": d.optional_text(form.get("location")),
    }
    return await _session_post(
        request,
        backend,
        rid,
        sid,
        "reschedule",
        body,
        N_("The session is moved; you both get an updated invitation."),
    )


@router.post(
    "/relationships/{rid}/sessions/{sid}/cancel",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf_protect)],
)
async def cancel_session(
    request: Request,
    rid: str,
    sid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    body = {"reason": d.optional_text(form.get("reason"))}
    return await _session_post(request, backend, rid, sid, "cancel", body, N_("The session is cancelled."))


@router.post(
    "/relationships/{rid}/sessions/{sid}/held",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf_protect)],
)
async def record_held(
    request: Request,
    rid: str,
    sid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    return await _session_post(
        request,
        backend,
        rid,
        sid,
        "held",
        _held_fields(form),
        N_("The session is recorded as held. Thank you!"),
    )


# -- pulse --------------------------------------------------------------------------------------


async def _pulse_page(
    request: Request,
    backend: Backend,
    rid: str,
    sid: str,
    values: dict[str, str],
    problem: BackendProblem | None,
) -> Response:
    rel = await uc.relationship(backend, rid)
    session = await uc.session(backend, rid, sid)
    side = d.my_side(rel)
    answered = any(
        f.get("kind") == "pulse" and f.get("session_id") == sid and f.get("by_side") == side
        for f in await uc.feedback(backend, rid)
    )
    return render(
        request,
        "participant/pulse.html",
        {
            "rel": rel,
            "session": session,
            "side": side,
            "zone": d.my_timezone(rel, zone_of(request)),
            "answered": answered,
            "form": values,
            **problem_context(problem),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/relationships/{rid}/sessions/{sid}/pulse", response_class=HTMLResponse)
async def pulse_page(
    request: Request,
    rid: str,
    sid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    return await _pulse_page(request, backend, rid, sid, {}, None)


@router.post(
    "/relationships/{rid}/sessions/{sid}/pulse",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf_protect)],
)
async def submit_pulse(
    request: Request,
    rid: str,
    sid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    body = {"rating": d.parse_int(form.get("rating")), "comment": d.optional_text(form.get("comment"))}
    try:
        await uc.session_action(backend, rid, f"/{sid}/pulse", body)
    except BackendProblem as problem:
        if problem.status in _FORM_ERRORS:
            return await _pulse_page(request, backend, rid, sid, form, problem)
        raise
    return done(request, _base(rid), N_("Thank you for rating the session."))


# -- surveys ------------------------------------------------------------------------------------

SURVEYS = {"midpoint": "surveys/midpoint", "closing": "closing-survey"}


async def _survey_page(
    request: Request,
    backend: Backend,
    rid: str,
    kind: str,
    values: dict[str, str],
    problem: BackendProblem | None,
) -> Response:
    rel = await uc.relationship(backend, rid)
    side = d.my_side(rel)
    answered = any(
        f.get("kind") == kind and f.get("by_side") == side for f in await uc.feedback(backend, rid)
    )
    return render(
        request,
        "participant/survey.html",
        {
            "rel": rel,
            "side": side,
            "kind": kind,
            "action": f"{_base(rid)}/{SURVEYS[kind]}",
            "answered": answered,
            "form": values,
            "partner": d.partner_name(rel),
            **problem_context(problem),
        },
        status_code=problem.status if problem else 200,
    )


async def _survey_post(request: Request, backend: Backend, rid: str, kind: str) -> Response:
    form = await form_of(request)
    body = {
        "satisfaction": d.parse_int(form.get("satisfaction")),
        "recommend_score": d.parse_int(form.get("recommend_score")),
        "learned": (form.get("learned") or "").strip(),
        "taught": (form.get("taught") or "").strip(),
        "comment": d.optional_text(form.get("comment")),
    }
    try:
        await uc.submit_survey(backend, rid, kind, body)
    except BackendProblem as problem:
        if problem.status in _FORM_ERRORS:
            return await _survey_page(request, backend, rid, kind, form, problem)
        raise
    return done(request, _base(rid), N_("Thank you: your answers are saved."))


@router.get("/relationships/{rid}/surveys/midpoint", response_class=HTMLResponse)
async def midpoint_page(
    request: Request,
    rid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    return await _survey_page(request, backend, rid, "midpoint", {}, None)


@router.post(
    "/relationships/{rid}/surveys/midpoint", response_class=HTMLResponse, dependencies=[Depends(csrf_protect)]
)
async def midpoint_submit(
    request: Request,
    rid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    return await _survey_post(request, backend, rid, "midpoint")


@router.get("/relationships/{rid}/closing-survey", response_class=HTMLResponse)
async def closing_page(
    request: Request,
    rid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    return await _survey_page(request, backend, rid, "closing", {}, None)


@router.post(
    "/relationships/{rid}/closing-survey", response_class=HTMLResponse, dependencies=[Depends(csrf_protect)]
)
async def closing_submit(
    request: Request,
    rid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    return await _survey_post(request, backend, rid, "closing")


# -- goals --------------------------------------------------------------------------------------


async def _goals_page(
    request: Request, backend: Backend, rid: str, values: dict[str, str], problem: BackendProblem | None
) -> Response:
    rel = await uc.relationship(backend, rid)
    side = d.my_side(rel)
    goals = await uc.goals(backend, rid)
    return render(
        request,
        "participant/goals.html",
        {
            "rel": rel,
            "side": side,
            "my_goals": [g for g in goals if g.get("owner_side") == side],
            "their_goals": [g for g in goals if g.get("owner_side") != side],
            "partner": d.partner_name(rel),
            "form": values,
            **problem_context(problem),
            **_labels(),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/relationships/{rid}/goals", response_class=HTMLResponse)
async def goals_page(
    request: Request,
    rid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    return await _goals_page(request, backend, rid, {}, None)


@router.post("/relationships/{rid}/goals", response_class=HTMLResponse, dependencies=[Depends(csrf_protect)])
async def set_goal(
    request: Request,
    rid: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    body = {
        "title": (form.get("title") or "").strip(),
        "description": d.optional_text(form.get("description")),
        "success_measure": d.optional_text(form.get("success_measure")),
    }
    try:
        await uc.goal_action(backend, rid, "", body)
    except BackendProblem as problem:
        if problem.status in _FORM_ERRORS:
            return await _goals_page(request, backend, rid, form, problem)
        raise
    return done(request, f"{_base(rid)}/goals", N_("Your goal is added."))


@router.post(
    "/relationships/{rid}/goals/{gid}/{action}",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf_protect)],
)
async def goal_action(
    request: Request,
    rid: str,
    gid: str,
    action: str,
    user: CurrentUser = Depends(require_user),
    backend: Backend = Depends(get_backend),
) -> Response:
    form = await form_of(request)
    if action == "check-ins":
        body: dict[str, Any] = {
            "rating": d.parse_int(form.get("rating")),
            "note": d.optional_text(form.get("note")),
        }
        message = N_("Your check-in is saved.")
    elif action in ("achieve", "abandon"):
        body = {"note": d.optional_text(form.get("note"))}
        message = N_("Well done: the goal is achieved.") if action == "achieve" else N_("The goal is closed.")
    else:
        return see_other(f"{_base(rid)}/goals")
    try:
        await uc.goal_action(backend, rid, f"/{gid}/{action}", body)
    except BackendProblem as problem:
        if problem.status in _FORM_ERRORS:
            return await _goals_page(request, backend, rid, {}, problem)
        raise
    return done(request, f"{_base(rid)}/goals", message)
