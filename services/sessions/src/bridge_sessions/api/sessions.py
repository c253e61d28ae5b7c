"""Sessions: schedule (UTC instant or wall-clock time in a zone), reschedule, cancel, record as
held; calendar invites; shared notes for the pair and private notes for their author only."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field, model_validator

from bridge_sessions.api.common import (
    Access,
    Side,
    connection,
    get_clock,
    get_settings,
    load_access,
    transaction,
)
from bridge_sessions.domain.ical import session_uid
from bridge_sessions.domain.timefmt import LocalTime, LocalTimeError, local_to_utc, render_local, to_utc
from bridge_sessions.invites import ics_for, invite_for, session_fields
from bridge_sessions.jobs.health import health_tick
from bridge_sessions.settings import SessionsSettings
from bridge_shared.auth.dependencies import authenticate
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.sessions import (
    Direction,
    FeedbackSubmittedV1,
    SessionCancelledV1,
    SessionHeldV1,
    SessionRescheduledV1,
    SessionScheduledV1,
)
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime
from bridge_shared.scheduling.clock import Clock

router = APIRouter(prefix="/relationships/{relationship_id}/sessions", tags=["sessions"])


class When(BaseModel):
    """Either `starts_at` with an offset, or `local_start` (no offset) plus an IANA `timezone`."""

    starts_at: datetime | None = Field(None, description="aware instant, e.g. 2025-03-24T08:00:00Z")
    local_start: datetime | None = Field(None, description="wall-clock time, e.g. 2025-03-24T09:00")
    timezone: str | None = Field(None, description="IANA zone of local_start, e.g. Europe/Berlin")

    @model_validator(mode="after")
    def _one_way(self) -> When:
        if (self.starts_at is None) == (self.local_start is None):
            raise ValueError("give either starts_at or local_start with timezone")
        if self.local_start is not None and not self.timezone:
            raise ValueError("local_start needs a timezone")
        return self

    def utc(self) -> datetime:
        try:
            if self.starts_at is not None:
                return to_utc(self.starts_at)
            assert self.local_start is not None
            assert self.timezone is not None
            return local_to_utc(self.local_start, self.timezone)
        except LocalTimeError as exc:
            raise Problem(422, "Invalid start time", str(exc)) from exc


class ScheduleIn(When):
    duration_minutes: int = Field(60, ge=5, le=480)
    location: str | None = Field(None, max_length=500, description="room, address or video link")


class RescheduleIn(When):
    duration_minutes: int | None = Field(None, ge=5, le=480)
    location: str | None = Field(None, max_length=500)


class CancelIn(BaseModel):
    reason: str | None = Field(None, max_length=2000)


class TopicIn(BaseModel):
    topic: str = Field(min_length=1, max_length=200)
    direction: Direction = Field(
        description="mentor_to_mentee: the reverse mentor taught; mentee_to_mentor: the leader advised back"
    )


class ActionItem(BaseModel):
    text: str = Field(min_length=1, max_length=500)
    owner: Side
    due: date | None = None


class HeldIn(BaseModel):
    actual_duration_minutes: int = Field(ge=1, le=600)
    held_at: datetime | None = Field(None, description="when it started; defaults to the scheduled start")
    topics: list[TopicIn] = Field(min_length=1, max_length=30)
    shared_notes: str | None = Field(None, max_length=20000)
    action_items: list[ActionItem] = Field(default_factory=list, max_length=30)
    private_note: str | None = Field(None, max_length=20000, description="visible to you only")


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=20000)


class PulseIn(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=2000)


class InviteOut(BaseModel):
    uid: str
    sequence: int
    method: Literal["REQUEST", "CANCEL"]
    url: str


class SessionOut(BaseModel):
    id: UUID
    relationship_id: UUID
    status: Literal["scheduled", "held", "cancelled"]
    starts_at: datetime = Field(description="UTC")
    ends_at: datetime = Field(description="UTC")
    duration_minutes: int
    location: str | None
    local: dict[str, LocalTime] = Field(description="the interval in each participant's zone, by side")
    invite: InviteOut
    scheduled_by: str
    cancelled_by: str | None
    cancel_reason: str | None
    cancelled_at: datetime | None
    held_at: datetime | None
    actual_duration_minutes: int | None
    topics: list[TopicIn]
    shared_notes: str | None = Field(None, description="participants only")
    action_items: list[ActionItem] | None = Field(None, description="participants only")
    my_private_note: str | None = Field(None, description="the caller's own private note")


def to_out(acc: Access, s: Any, my_note: str | None) -> SessionOut:
    rel = acc.rel
    base = f"/relationships/{rel['id']}/sessions/{s['id']}"
    return SessionOut(
        id=s["id"],
        relationship_id=rel["id"],
        status=s["status"],
        starts_at=s["starts_at"],
        ends_at=s["starts_at"] + timedelta(minutes=s["duration_minutes"]),
        duration_minutes=s["duration_minutes"],
        location=s["location"],
        local={
            side: render_local(s["starts_at"], s["duration_minutes"], rel[f"{side}_timezone"])
            for side in ("mentor", "mentee")
        },
        invite=InviteOut(
            uid=s["ical_uid"],
            sequence=s["ical_sequence"],
            method="CANCEL" if s["status"] == "cancelled" else "REQUEST",
            url=f"{base}/invite.ics",
        ),
        scheduled_by=s["scheduled_by"],
        cancelled_by=s["cancelled_by"],
        cancel_reason=s["cancel_reason"],
        cancelled_at=s["cancelled_at"],
        held_at=s["held_at"],
        actual_duration_minutes=s["actual_duration_minutes"],
        topics=[TopicIn.model_validate(t) for t in s["topics"]],
        shared_notes=s["shared_notes"] if acc.is_participant else None,
        action_items=[ActionItem.model_validate(a) for a in s["action_items"]]
        if acc.is_participant
        else None,
        my_private_note=my_note if acc.is_participant else None,
    )


async def _session(
    conn: asyncpg.Connection[Any], acc: Access, session_id: UUID, *, lock: bool = False
) -> Any:
    s: Any = await conn.fetchrow(
        "SELECT * FROM sessions WHERE id = $1 AND relationship_id = $2" + (" FOR UPDATE" if lock else ""),
        session_id,
        acc.rel["id"],
    )
    if s is None:
        raise Problem(404, "Session not found")
    return s


async def _my_note(conn: asyncpg.Connection[Any], acc: Access, session_id: UUID) -> str | None:
    if not acc.is_participant:
        return None
    note: str | None = await conn.fetchval(
        "SELECT body FROM session_private_notes WHERE session_id = $1 AND author_id = $2",
        session_id,
        acc.principal.subject,
    )
    return note


def _must_be_scheduled(s: Any) -> None:
    if s["status"] != "scheduled":
        raise Problem(409, "Session not scheduled", f"This session is {s['status']}.")


async def _scheduled_for_change(
    conn: asyncpg.Connection[Any],
    relationship_id: UUID,
    session_id: UUID,
    principal: Principal,
    *,
    relationship_open: bool = True,
) -> tuple[Access, Any]:
    """A participant changing one of their scheduled sessions: both rows locked, states checked."""
    acc = await load_access(conn, relationship_id, principal, for_update=True)
    acc.participant()
    if relationship_open:
        acc.open()
    old = await _session(conn, acc, session_id, lock=True)
    _must_be_scheduled(old)
    return acc, old


@router.get("", response_model=list[SessionOut])
async def list_sessions(
    relationship_id: UUID, principal: Principal = Depends(authenticate), rt: Runtime = Depends(get_runtime)
) -> list[SessionOut]:
    async with connection(rt) as conn:
        acc = await load_access(conn, relationship_id, principal)
        rows = await conn.fetch(
            "SELECT * FROM sessions WHERE relationship_id = $1 ORDER BY starts_at, id", relationship_id
        )
        notes = {
            r["session_id"]: r["body"]
            for r in await conn.fetch(
                "SELECT n.session_id, n.body FROM session_private_notes n "
                "JOIN sessions s ON s.id = n.session_id "
                "WHERE s.relationship_id = $1 AND n.author_id = $2",
                relationship_id,
                principal.subject,
            )
        }
    return [to_out(acc, s, notes.get(s["id"])) for s in rows]


@router.get("/{session_id}", response_model=SessionOut)
async def get_session(
    relationship_id: UUID,
    session_id: UUID,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
) -> SessionOut:
    async with connection(rt) as conn:
        acc = await load_access(conn, relationship_id, principal)
        s = await _session(conn, acc, session_id)
        return to_out(acc, s, await _my_note(conn, acc, session_id))


@router.get(
    "/{session_id}/invite.ics", response_class=Response, responses={200: {"content": {"text/calendar": {}}}}
)
async def get_invite(
    relationship_id: UUID,
    session_id: UUID,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    settings: SessionsSettings = Depends(get_settings),
) -> Response:
    """The RFC 5545 calendar object for the session's current state (REQUEST, or CANCEL)."""
    async with connection(rt) as conn:
        acc = await load_access(conn, relationship_id, principal)
        s = await _session(conn, acc, session_id)
    return Response(
        ics_for(acc.rel, s, settings),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="session-{session_id}.ics"'},
    )


@router.post("", response_model=SessionOut, status_code=201)
async def schedule(
    relationship_id: UUID,
    body: ScheduleIn,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
    settings: SessionsSettings = Depends(get_settings),
) -> SessionOut:
    starts_at, now, sid = body.utc(), clock.now(), uuid.uuid4()
    async with transaction(rt) as conn:
        acc = await load_access(conn, relationship_id, principal, for_update=True)
        acc.participant()
        acc.open()
        s: Any = await conn.fetchrow(
            """INSERT INTO sessions (id, relationship_id, status, starts_at, duration_minutes, location,
                      ical_uid, ical_sequence, scheduled_by, created_at, updated_at)
               VALUES ($1, $2, 'scheduled', $3, $4, $5, $6, 0, $7, $8, $8) RETURNING *""",
            sid,
            relationship_id,
            starts_at,
            body.duration_minutes,
            body.location,
            session_uid(str(sid), settings.invite_uid_domain),
            principal.subject,
            now,
        )
        await rt.outbox.add(
            conn,
            SessionScheduledV1(
                **session_fields(acc.rel, s),
                starts_at=starts_at,
                duration_minutes=s["duration_minutes"],
                location=s["location"],
                invite=invite_for(acc.rel, s, settings),
            ),
            subject=f"relationship/{relationship_id}",
        )
    return to_out(acc, s, None)


@router.post("/{session_id}/reschedule", response_model=SessionOut)
async def reschedule(
    relationship_id: UUID,
    session_id: UUID,
    body: RescheduleIn,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
    settings: SessionsSettings = Depends(get_settings),
) -> SessionOut:
    """Same invite UID, higher SEQUENCE: calendars move the existing event."""
    starts_at, now = body.utc(), clock.now()
    async with transaction(rt) as conn:
        acc, old = await _scheduled_for_change(conn, relationship_id, session_id, principal)
        s: Any = await conn.fetchrow(
            """UPDATE sessions SET starts_at = $2, duration_minutes = coalesce($3, duration_minutes),
                      location = CASE WHEN $4 THEN $5 ELSE location END, ical_sequence = ical_sequence + 1,
                      updated_at = $6
               WHERE id = $1 RETURNING *""",
            session_id,
            starts_at,
            body.duration_minutes,
            "location" in body.model_fields_set,
            body.location,
            now,
        )
        await rt.outbox.add(
            conn,
            SessionRescheduledV1(
                **session_fields(acc.rel, s),
                previous_starts_at=old["starts_at"],
                starts_at=s["starts_at"],
                duration_minutes=s["duration_minutes"],
                location=s["location"],
                invite=invite_for(acc.rel, s, settings),
            ),
            subject=f"relationship/{relationship_id}",
        )
        return to_out(acc, s, await _my_note(conn, acc, session_id))


@router.post("/{session_id}/cancel", response_model=SessionOut)
async def cancel(
    relationship_id: UUID,
    session_id: UUID,
    body: CancelIn,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
    settings: SessionsSettings = Depends(get_settings),
) -> SessionOut:
    """Records who cancelled and why; the invite becomes METHOD:CANCEL / STATUS:CANCELLED."""
    now = clock.now()
    async with transaction(rt) as conn:
        acc, _ = await _scheduled_for_change(
            conn, relationship_id, session_id, principal, relationship_open=False
        )
        s: Any = await conn.fetchrow(
            """UPDATE sessions SET status = 'cancelled', cancelled_by = $2, cancel_reason = $3,
                      cancelled_at = $4, ical_sequence = ical_sequence + 1, updated_at = $4
               WHERE id = $1 RETURNING *""",
            session_id,
            principal.subject,
            body.reason,
            now,
        )
        await rt.outbox.add(
            conn,
            SessionCancelledV1(
                **session_fields(acc.rel, s),
                starts_at=s["starts_at"],
                cancelled_by=principal.subject,
                reason=body.reason,
                invite=invite_for(acc.rel, s, settings),
            ),
            subject=f"relationship/{relationship_id}",
        )
        return to_out(acc, s, await _my_note(conn, acc, session_id))


@router.post("/{session_id}/held", response_model=SessionOut)
async def record_held(
    relationship_id: UUID,
    session_id: UUID,
    body: HeldIn,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
    settings: SessionsSettings = Depends(get_settings),
) -> SessionOut:
    """Records that the session took place: duration, topics with direction, notes, action items."""
    now = clock.now()
    async with transaction(rt) as conn:
        acc, old = await _scheduled_for_change(conn, relationship_id, session_id, principal)
        held_at = to_utc(body.held_at) if body.held_at is not None else old["starts_at"]
        if held_at > now:
            raise Problem(
                409, "Session not yet held", "A session can be recorded as held once it has started."
            )
        topics = [t.model_dump() for t in body.topics]
        items = [a.model_dump(mode="json") for a in body.action_items]
        s: Any = await conn.fetchrow(
            """UPDATE sessions SET status = 'held', held_at = $2, actual_duration_minutes = $3, topics = $4,
                      shared_notes = $5, action_items = $6, recorded_by = $7, updated_at = $8
               WHERE id = $1 RETURNING *""",
            session_id,
            held_at,
            body.actual_duration_minutes,
            topics,
            body.shared_notes,
            items,
            principal.subject,
            now,
        )
        if body.private_note:
            await _put_note(conn, session_id, principal.subject, body.private_note, now)
        await rt.outbox.add(
            conn,
            SessionHeldV1(
                **session_fields(acc.rel, s),
                held_at=held_at,
                actual_duration_minutes=body.actual_duration_minutes,
                topics=topics,
                action_items=len(items),
            ),
            subject=f"relationship/{relationship_id}",
        )
        # A held session can end a risk (or start a one-directional one): assess this pair now, in the
        # same transaction, rather than at the next scheduler tick.
        await health_tick(conn, clock, settings, rt.outbox, only=relationship_id)
        return to_out(acc, s, await _my_note(conn, acc, session_id))


async def _put_note(
    conn: asyncpg.Connection[Any], session_id: UUID, author: str, body: str, now: datetime
) -> None:
    await conn.execute(
        """INSERT INTO session_private_notes (session_id, author_id, body, updated_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (session_id, author_id)
           DO UPDATE SET body = EXCLUDED.body, updated_at = EXCLUDED.updated_at""",
        session_id,
        author,
        body,
        now,
    )


@router.put("/{session_id}/private-note", response_model=SessionOut)
async def put_private_note(
    relationship_id: UUID,
    session_id: UUID,
    body: NoteIn,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> SessionOut:
    """Your own note on a session; nobody else (not the other participant, not HR) can read it."""
    async with transaction(rt) as conn:
        acc = await load_access(conn, relationship_id, principal)
        acc.participant()
        s = await _session(conn, acc, session_id)
        await _put_note(conn, session_id, principal.subject, body.body, clock.now())
        return to_out(acc, s, body.body)


@router.put("/{session_id}/shared-notes", response_model=SessionOut)
async def put_shared_notes(
    relationship_id: UUID,
    session_id: UUID,
    body: NoteIn,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> SessionOut:
    """Notes both participants see (HR does not)."""
    async with transaction(rt) as conn:
        acc = await load_access(conn, relationship_id, principal)
        acc.participant()
        await _session(conn, acc, session_id, lock=True)
        s: Any = await conn.fetchrow(
            "UPDATE sessions SET shared_notes = $2, updated_at = updated_at WHERE id = $1 RETURNING *",
            session_id,
            body.body,
        )
        return to_out(acc, s, await _my_note(conn, acc, session_id))


@router.post("/{session_id}/pulse", status_code=201)
async def pulse(
    relationship_id: UUID,
    session_id: UUID,
    body: PulseIn,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> dict[str, Any]:
    """A quick 1-5 after a held session, once per side."""
    now, fid = clock.now(), uuid.uuid4()
    async with transaction(rt) as conn:
        acc = await load_access(conn, relationship_id, principal)
        side = acc.participant()
        s = await _session(conn, acc, session_id)
        if s["status"] != "held":
            raise Problem(409, "Session not held", "Pulse feedback is given after a held session.")
        done = await conn.fetchval(
            """INSERT INTO feedback (id, relationship_id, kind, by_side, by_participant_id, session_id,
                      rating, comment, submitted_at)
               VALUES ($1, $2, 'pulse', $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id""",
            fid,
            relationship_id,
            side,
            acc.participant_id,
            session_id,
            body.rating,
            body.comment,
            now,
        )
        if done is None:
            raise Problem(409, "Already submitted", "You have already given feedback on this session.")
        await rt.outbox.add(
            conn,
            FeedbackSubmittedV1(
                relationship_id=str(relationship_id),
                pair_id=acc.rel["pair_id"],
                cohort_id=acc.rel["cohort_id"],
                feedback_id=str(fid),
                kind="pulse",
                by_participant_id=acc.participant_id,
                by_side=side,
                session_id=str(session_id),
                rating=body.rating,
                submitted_at=now,
            ),
            subject=f"relationship/{relationship_id}",
        )
    return {
        "id": str(fid),
        "kind": "pulse",
        "session_id": str(session_id),
        "rating": body.rating,
        "submitted_at": now.isoformat(),
    }
