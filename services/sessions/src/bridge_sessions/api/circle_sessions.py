"""Circle group sessions: schedule (any member; the facilitator may pick the activity), reschedule,
cancel, the facilitator's activity pick, record as held (the facilitator: attendance, the activity's
ideas, the learning record), log one that already happened; one calendar invite to every member.
Routes only: the rules are in app/circle_sessions.py."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Response

from bridge_sessions.api.circle_session_models import (
    ActivityPickIn,
    CircleCancelIn,
    CircleHeldIn,
    CircleLogIn,
    CircleRescheduleIn,
    CircleScheduleIn,
    CircleSessionOut,
    to_out,
)
from bridge_sessions.api.deps import OnCircle, on_circle
from bridge_sessions.app import circle_sessions as app
from bridge_shared.http.openapi import problems

router = APIRouter(prefix="/circles/{circle_id}/sessions", tags=["circle sessions"])


@router.get("", response_model=list[CircleSessionOut], responses=problems(404))
async def list_sessions(on: OnCircle = Depends(on_circle)) -> list[CircleSessionOut]:
    return [to_out(v) for v in await app.list_for(on.rt, on.circle_id, on.principal)]


@router.get("/{session_id}", response_model=CircleSessionOut, responses=problems(404))
async def get_session(session_id: UUID, on: OnCircle = Depends(on_circle)) -> CircleSessionOut:
    return to_out(await app.get(on.rt, on.circle_id, session_id, on.principal))


@router.get(
    "/{session_id}/invite.ics",
    response_class=Response,
    responses={**problems(404), 200: {"content": {"text/calendar": {}}}},
)
async def get_invite(session_id: UUID, on: OnCircle = Depends(on_circle)) -> Response:
    """The RFC 5545 calendar object for the session's current state (REQUEST, or CANCEL), every
    member an ATTENDEE."""
    return Response(
        await app.invite_ics(on.rt, on.circle_id, session_id, on.principal),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="circle-session-{session_id}.ics"'},
    )


@router.post("", response_model=CircleSessionOut, status_code=201, responses=problems(404, 409))
async def schedule(body: CircleScheduleIn, on: OnCircle = Depends(on_circle)) -> CircleSessionOut:
    """Any member; the start must be in the future. One invite goes to every member."""
    view = await app.schedule(
        on.rt,
        on.circle_id,
        on.principal,
        starts_at=body.utc(),
        duration_minutes=body.duration_minutes,
        location=body.location,
        activity_id=body.activity_id,
    )
    return to_out(view)


@router.post("/log", response_model=CircleSessionOut, status_code=201, responses=problems(404, 409))
async def log_session(body: CircleLogIn, on: OnCircle = Depends(on_circle)) -> CircleSessionOut:
    """The facilitator records a session that already happened without being scheduled: stored as
    held with its attendance, ideas and learning; no invite and no "scheduled" message."""
    view = await app.log_held(
        on.rt,
        on.circle_id,
        on.principal,
        starts_at=body.utc(),
        duration_minutes=body.duration_minutes,
        location=body.location,
        report=body.report(),
    )
    return to_out(view)


@router.patch("/{session_id}", response_model=CircleSessionOut, responses=problems(404, 409))
async def pick_activity(
    session_id: UUID, body: ActivityPickIn, on: OnCircle = Depends(on_circle)
) -> CircleSessionOut:
    """The facilitator picks (or clears) the activity of a scheduled session."""
    return to_out(await app.pick_activity(on.rt, on.circle_id, session_id, on.principal, body.activity_id))


@router.post("/{session_id}/reschedule", response_model=CircleSessionOut, responses=problems(404, 409))
async def reschedule(
    session_id: UUID, body: CircleRescheduleIn, on: OnCircle = Depends(on_circle)
) -> CircleSessionOut:
    """Any member. Same invite UID, higher SEQUENCE: every calendar moves the existing event."""
    view = await app.reschedule(
        on.rt,
        on.circle_id,
        session_id,
        on.principal,
        starts_at=body.utc(),
        duration_minutes=body.duration_minutes,
        location=body.new_location(),
    )
    return to_out(view)


@router.post("/{session_id}/cancel", response_model=CircleSessionOut, responses=problems(404, 409))
async def cancel(
    session_id: UUID, body: CircleCancelIn, on: OnCircle = Depends(on_circle)
) -> CircleSessionOut:
    """Any member; the invite becomes METHOD:CANCEL / STATUS:CANCELLED (same UID)."""
    return to_out(await app.cancel(on.rt, on.circle_id, session_id, on.principal, reason=body.reason))


@router.post("/{session_id}/held", response_model=CircleSessionOut, responses=problems(404, 409))
async def record_held(
    session_id: UUID, body: CircleHeldIn, on: OnCircle = Depends(on_circle)
) -> CircleSessionOut:
    """The facilitator records that the session took place: who attended, the activity and its ideas
    (each attributed to a member who attended), who taught what to whom."""
    return to_out(await app.record_held(on.rt, on.circle_id, session_id, on.principal, body.report()))
