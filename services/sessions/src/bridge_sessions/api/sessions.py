"""Sessions: schedule (UTC instant or wall-clock time in a zone), reschedule, cancel, record as
held; calendar invites; shared notes for the pair and private notes for their author only; the
pulse rating after a held session. Routes only: the rules are in app/sessions.py, app/notes.py and
app/feedback.py."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Response

from bridge_sessions.api.deps import Rt, get_runtime
from bridge_sessions.api.session_models import (
    CancelIn,
    HeldIn,
    NoteIn,
    PulseIn,
    RescheduleIn,
    ScheduleIn,
    SessionOut,
    to_out,
)
from bridge_sessions.app import feedback, notes
from bridge_sessions.app import sessions as app
from bridge_shared.auth.dependencies import authenticate
from bridge_shared.auth.principal import Principal

router = APIRouter(prefix="/relationships/{relationship_id}/sessions", tags=["sessions"])


@router.get("", response_model=list[SessionOut])
async def list_sessions(
    relationship_id: UUID, principal: Principal = Depends(authenticate), rt: Rt = Depends(get_runtime)
) -> list[SessionOut]:
    return [to_out(v) for v in await app.list_for(rt, relationship_id, principal)]


@router.get("/{session_id}", response_model=SessionOut)
async def get_session(
    relationship_id: UUID,
    session_id: UUID,
    principal: Principal = Depends(authenticate),
    rt: Rt = Depends(get_runtime),
) -> SessionOut:
    return to_out(await app.get(rt, relationship_id, session_id, principal))


@router.get(
    "/{session_id}/invite.ics", response_class=Response, responses={200: {"content": {"text/calendar": {}}}}
)
async def get_invite(
    relationship_id: UUID,
    session_id: UUID,
    principal: Principal = Depends(authenticate),
    rt: Rt = Depends(get_runtime),
) -> Response:
    """The RFC 5545 calendar object for the session's current state (REQUEST, or CANCEL)."""
    return Response(
        await app.invite_ics(rt, relationship_id, session_id, principal),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="session-{session_id}.ics"'},
    )


@router.post("", response_model=SessionOut, status_code=201)
async def schedule(
    relationship_id: UUID,
    body: ScheduleIn,
    principal: Principal = Depends(authenticate),
    rt: Rt = Depends(get_runtime),
) -> SessionOut:
    view = await app.schedule(
        rt,
        relationship_id,
        principal,
        starts_at=body.utc(),
        duration_minutes=body.duration_minutes,
        location=body.location,
    )
    return to_out(view)


@router.post("/{session_id}/reschedule", response_model=SessionOut)
async def reschedule(
    relationship_id: UUID,
    session_id: UUID,
    body: RescheduleIn,
    principal: Principal = Depends(authenticate),
    rt: Rt = Depends(get_runtime),
) -> SessionOut:
    """Same invite UID, higher SEQUENCE: calendars move the existing event."""
    view = await app.reschedule(
        rt,
        relationship_id,
        session_id,
        principal,
        starts_at=body.utc(),
        duration_minutes=body.duration_minutes,
        location=body.new_location(),
    )
    return to_out(view)


@router.post("/{session_id}/cancel", response_model=SessionOut)
async def cancel(
    relationship_id: UUID,
    session_id: UUID,
    body: CancelIn,
    principal: Principal = Depends(authenticate),
    rt: Rt = Depends(get_runtime),
) -> SessionOut:
    """Records who cancelled and why; the invite becomes METHOD:CANCEL / STATUS:CANCELLED."""
    return to_out(await app.cancel(rt, relationship_id, session_id, principal, reason=body.reason))


@router.post("/{session_id}/held", response_model=SessionOut)
async def record_held(
    relationship_id: UUID,
    session_id: UUID,
    body: HeldIn,
    principal: Principal = Depends(authenticate),
    rt: Rt = Depends(get_runtime),
) -> SessionOut:
    """Records that the session took place: duration, topics with direction, notes, action items."""
    return to_out(await app.record_held(rt, relationship_id, session_id, principal, body.report()))


@router.put("/{session_id}/private-note", response_model=SessionOut)
async def put_private_note(
    relationship_id: UUID,
    session_id: UUID,
    body: NoteIn,
    principal: Principal = Depends(authenticate),
    rt: Rt = Depends(get_runtime),
) -> SessionOut:
    """Your own note on a session; nobody else (not the other participant, not HR) can read it."""
    return to_out(await notes.put_private(rt, relationship_id, session_id, principal, body.body))


@router.put("/{session_id}/shared-notes", response_model=SessionOut)
async def put_shared_notes(
    relationship_id: UUID,
    session_id: UUID,
    body: NoteIn,
    principal: Principal = Depends(authenticate),
    rt: Rt = Depends(get_runtime),
) -> SessionOut:
    """Notes both participants see (HR does not)."""
    return to_out(await notes.put_shared(rt, relationship_id, session_id, principal, body.body))


@router.post("/{session_id}/pulse", status_code=201)
async def pulse(
    relationship_id: UUID,
    session_id: UUID,
    body: PulseIn,
    principal: Principal = Depends(authenticate),
    rt: Rt = Depends(get_runtime),
) -> dict[str, str | int]:
    """A quick 1-5 after a held session, once per side."""
    p = await feedback.pulse(
        rt, relationship_id, session_id, principal, rating=body.rating, comment=body.comment
    )
    return {
        "id": str(p.id),
        "kind": "pulse",
        "session_id": str(p.session_id),
        "rating": p.rating,
        "submitted_at": p.submitted_at.isoformat(),
    }
