"""Sessions: schedule (UTC instant or wall-clock time in a zone, in the future), reschedule, cancel,
record as held, log one that already happened (no invite); calendar invites; shared notes for the
pair and private notes for their author only; the pulse rating after a held session. Routes only:
the rules are in app/sessions.py, app/notes.py and app/feedback.py."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Response

from bridge_sessions.api.deps import OnRelationship, on_relationship
from bridge_sessions.api.session_models import (
    CancelIn,
    HeldIn,
    LogIn,
    NoteIn,
    PulseIn,
    RescheduleIn,
    ScheduleIn,
    SessionOut,
    to_out,
)
from bridge_sessions.app import feedback, notes
from bridge_sessions.app import sessions as app
from bridge_shared.http.openapi import problems

router = APIRouter(prefix="/relationships/{relationship_id}/sessions", tags=["sessions"])


@router.get("", response_model=list[SessionOut], responses=problems(404))
async def list_sessions(
    on: OnRelationship = Depends(on_relationship),
) -> list[SessionOut]:
    return [to_out(v) for v in await app.list_for(on.rt, on.relationship_id, on.principal)]


@router.get("/{session_id}", response_model=SessionOut, responses=problems(404))
async def get_session(
    session_id: UUID,
    on: OnRelationship = Depends(on_relationship),
) -> SessionOut:
    return to_out(await app.get(on.rt, on.relationship_id, session_id, on.principal))


@router.get(
    "/{session_id}/invite.ics",
    response_class=Response,
    responses={**problems(404), 200: {"content": {"text/calendar": {}}}},
)
async def get_invite(
    session_id: UUID,
    on: OnRelationship = Depends(on_relationship),
) -> Response:
    """The RFC 5545 calendar object for the session's current state (REQUEST, or CANCEL)."""
    return Response(
        await app.invite_ics(on.rt, on.relationship_id, session_id, on.principal),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="session-{session_id}.ics"'},
    )


@router.post("", response_model=SessionOut, status_code=201, responses=problems(404, 409))
async def schedule(
    body: ScheduleIn,
    on: OnRelationship = Depends(on_relationship),
) -> SessionOut:
    view = await app.schedule(
        on.rt,
        on.relationship_id,
        on.principal,
        starts_at=body.utc(),
        duration_minutes=body.duration_minutes,
        location=body.location,
    )
    return to_out(view)


@router.post("/log", response_model=SessionOut, status_code=201, responses=problems(404, 409))
async def log_session(
    body: LogIn,
    on: OnRelationship = Depends(on_relationship),
) -> SessionOut:
    """Records a session that already happened without being scheduled: stored as held, with its
    topics and notes; no calendar invite and no "scheduled" message is sent."""
    view = await app.log_held(
        on.rt,
        on.relationship_id,
        on.principal,
        starts_at=body.utc(),
        location=body.location,
        report=body.report(),
    )
    return to_out(view)


@router.post("/{session_id}/reschedule", response_model=SessionOut, responses=problems(404, 409))
async def reschedule(
    session_id: UUID,
    body: RescheduleIn,
    on: OnRelationship = Depends(on_relationship),
) -> SessionOut:
    """Same invite UID, higher SEQUENCE: calendars move the existing event."""
    view = await app.reschedule(
        on.rt,
        on.relationship_id,
        session_id,
        on.principal,
        starts_at=body.utc(),
        duration_minutes=body.duration_minutes,
        location=body.new_location(),
    )
    return to_out(view)


@router.post("/{session_id}/cancel", response_model=SessionOut, responses=problems(404, 409))
async def cancel(
    session_id: UUID,
    body: CancelIn,
    on: OnRelationship = Depends(on_relationship),
) -> SessionOut:
    """Records who cancelled and why; the invite becomes METHOD:CANCEL / STATUS:CANCELLED."""
    return to_out(await app.cancel(on.rt, on.relationship_id, session_id, on.principal, reason=body.reason))


@router.post("/{session_id}/held", response_model=SessionOut, responses=problems(404, 409))
async def record_held(
    session_id: UUID,
    body: HeldIn,
    on: OnRelationship = Depends(on_relationship),
) -> SessionOut:
    """Records that the session took place: duration, topics with direction, notes, action items."""
    return to_out(await app.record_held(on.rt, on.relationship_id, session_id, on.principal, body.report()))


@router.put("/{session_id}/private-note", response_model=SessionOut, responses=problems(404))
async def put_private_note(
    session_id: UUID,
    body: NoteIn,
    on: OnRelationship = Depends(on_relationship),
) -> SessionOut:
    """Your own note on a session; nobody else (not the other participant, not HR) can read it."""
    return to_out(await notes.put_private(on.rt, on.relationship_id, session_id, on.principal, body.body))


@router.put("/{session_id}/shared-notes", response_model=SessionOut, responses=problems(404))
async def put_shared_notes(
    session_id: UUID,
    body: NoteIn,
    on: OnRelationship = Depends(on_relationship),
) -> SessionOut:
    """Notes both participants see (HR does not)."""
    return to_out(await notes.put_shared(on.rt, on.relationship_id, session_id, on.principal, body.body))


@router.post("/{session_id}/pulse", status_code=201, responses=problems(404, 409))
async def pulse(
    session_id: UUID,
    body: PulseIn,
    on: OnRelationship = Depends(on_relationship),
) -> dict[str, str | int]:
    """A quick 1-5 after a held session, once per side."""
    p = await feedback.pulse(
        on.rt, on.relationship_id, session_id, on.principal, rating=body.rating, comment=body.comment
    )
    return {
        "id": str(p.id),
        "kind": "pulse",
        "session_id": str(p.session_id),
        "rating": p.rating,
        "submitted_at": p.submitted_at.isoformat(),
    }
