"""Sessions: schedule, reschedule, cancel, record as held, log one that already happened, and read
them with their invites.

Only future starts can be scheduled or rescheduled (a past start would send an invite for something
that is over). A session that already took place without being scheduled is *logged*: it is stored
as held at once, publishes only `session.held` and has no calendar invite.

Every change runs the same sequence (`_change`): lock the relationship and check the caller is a
participant (and, except for cancelling, that it is still open), lock and check the session (it must
still be scheduled), apply the change, publish its event in the same transaction, answer with the
session as the caller sees it.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from bridge_sessions.app.access import Access, load_access, participant_access
from bridge_sessions.app.health import health_tick
from bridge_sessions.app.session_checks import found, future_start, past_start, started, still_scheduled
from bridge_sessions.db import Conn
from bridge_sessions.db import notes as notes_db
from bridge_sessions.db import sessions as sessions_db
from bridge_sessions.db.sessions import Held
from bridge_sessions.domain.ical import session_uid
from bridge_sessions.domain.invites import ics_for, invite_for
from bridge_sessions.domain.refs import session_fields, subject
from bridge_sessions.domain.rows import ActionItemData, RelationshipRow, SessionRow, Side, Topic
from bridge_sessions.domain.timefmt import to_utc
from bridge_sessions.settings import SessionsSettings
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.sessions import (
    SessionCancelledV2,
    SessionHeldV2,
    SessionRescheduledV2,
    SessionScheduledV2,
)
from bridge_shared.db.connection import connection
from bridge_shared.db.connection import transaction as begin
from bridge_shared.errors import Problem
from bridge_shared.events.registry import EventPayload
from bridge_shared.runtime import Runtime

Rt = Runtime[SessionsSettings]


@dataclass(frozen=True, slots=True)
class SessionView:
    """A session as one caller sees it: notes only for participants, private notes only their own."""

    rel: RelationshipRow
    session: SessionRow
    for_participant: bool
    my_note: str | None
    hidden: frozenset[Side]
    """Sides outside the caller's scope: their local time (time zone) is not shown (rule 3)."""


@dataclass(frozen=True, slots=True)
class HeldReport:
    actual_duration_minutes: int
    held_at: datetime | None
    topics: list[Topic]
    shared_notes: str | None
    action_items: list[ActionItemData]
    private_note: str | None


async def view_of(conn: Conn, acc: Access, s: SessionRow) -> SessionView:
    note = await notes_db.of(conn, s.id, acc.principal.subject) if acc.is_participant else None
    return SessionView(acc.rel, s, acc.is_participant, note, acc.hidden)


async def find(conn: Conn, acc: Access, session_id: UUID, *, lock: bool = False) -> SessionRow:
    return found(await sessions_db.get(conn, acc.rel.id, session_id, lock=lock))


# -- reads -------------------------------------------------------------------------------------


async def list_for(rt: Rt, relationship_id: UUID, principal: Principal) -> list[SessionView]:
    async with connection(rt.pool) as conn:
        acc = await load_access(conn, relationship_id, principal)
        rows = await sessions_db.for_relationship(conn, relationship_id)
        notes = await notes_db.by_session(conn, relationship_id, principal.subject)
    return [SessionView(acc.rel, s, acc.is_participant, notes.get(s.id), acc.hidden) for s in rows]


async def get(rt: Rt, relationship_id: UUID, session_id: UUID, principal: Principal) -> SessionView:
    async with connection(rt.pool) as conn:
        acc = await load_access(conn, relationship_id, principal)
        return await view_of(conn, acc, await find(conn, acc, session_id))


async def invite_ics(rt: Rt, relationship_id: UUID, session_id: UUID, principal: Principal) -> str:
    """The RFC 5545 calendar object for the session's current state (REQUEST, or CANCEL)."""
    async with connection(rt.pool) as conn:
        acc = await load_access(conn, relationship_id, principal)
        s = await find(conn, acc, session_id)
    if s.logged:
        raise Problem(404, "No calendar invite", "This session was logged after it happened: it has none.")
    # Rule 3: no e-mail address of a person outside the caller's scope (regional HR).
    rel = acc.rel
    if "mentor" in acc.hidden:
        rel = dataclasses.replace(rel, mentor_email=None)
    if "mentee" in acc.hidden:
        rel = dataclasses.replace(rel, mentee_email=None)
    return ics_for(rel, s, rt.settings.invite_organizer_email)


# -- changes -----------------------------------------------------------------------------------

Change = Callable[[Conn, Access, datetime], Awaitable[tuple[SessionRow, EventPayload]]]
After = Callable[[Conn, datetime], Awaitable[object]]


async def _change(
    rt: Rt,
    relationship_id: UUID,
    principal: Principal,
    change: Change,
    *,
    open_only: bool = True,
    after: After | None = None,
) -> SessionView:
    """Lock, check, change, publish, respond: the one sequence behind every session change."""
    now = rt.clock.now()
    async with begin(rt.pool) as conn:
        acc, _ = await participant_access(
            conn, relationship_id, principal, for_update=True, open_only=open_only
        )
        s, event = await change(conn, acc, now)
        await rt.outbox.add(conn, event, subject=subject(acc.rel))
        if after is not None:
            await after(conn, now)
        return await view_of(conn, acc, s)


async def _scheduled(conn: Conn, acc: Access, session_id: UUID) -> SessionRow:
    """The session, locked; 409 unless it is still scheduled."""
    return still_scheduled(await find(conn, acc, session_id, lock=True))


async def schedule(
    rt: Rt,
    relationship_id: UUID,
    principal: Principal,
    *,
    starts_at: datetime,
    duration_minutes: int,
    location: str | None,
) -> SessionView:
    sid = uuid.uuid4()

    async def change(conn: Conn, acc: Access, now: datetime) -> tuple[SessionRow, EventPayload]:
        future_start(starts_at, now)
        s = await sessions_db.insert(
            conn,
            session_id=sid,
            relationship_id=relationship_id,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            location=location,
            ical_uid=session_uid(str(sid), rt.settings.invite_uid_domain),
            scheduled_by=principal.subject,
            now=now,
        )
        return s, SessionScheduledV2(
            **session_fields(acc.rel, s),
            starts_at=starts_at,
            duration_minutes=s.duration_minutes,
            location=s.location,
            invite=invite_for(acc.rel, s, rt.settings.invite_organizer_email),
        )

    return await _change(rt, relationship_id, principal, change)


async def reschedule(
    rt: Rt,
    relationship_id: UUID,
    session_id: UUID,
    principal: Principal,
    *,
    starts_at: datetime,
    duration_minutes: int | None,
    location: tuple[str | None] | None,
) -> SessionView:
    """Same invite UID, higher SEQUENCE: calendars move the existing event. `duration_minutes` None
    keeps the duration; `location` None keeps it, `(value,)` replaces it."""

    async def change(conn: Conn, acc: Access, now: datetime) -> tuple[SessionRow, EventPayload]:
        old = await _scheduled(conn, acc, session_id)
        future_start(starts_at, now)
        s = await sessions_db.reschedule(
            conn,
            session_id,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            location=location,
            now=now,
        )
        return s, SessionRescheduledV2(
            **session_fields(acc.rel, s),
            previous_starts_at=old.starts_at,
            starts_at=s.starts_at,
            duration_minutes=s.duration_minutes,
            location=s.location,
            invite=invite_for(acc.rel, s, rt.settings.invite_organizer_email),
        )

    return await _change(rt, relationship_id, principal, change)


async def cancel(
    rt: Rt, relationship_id: UUID, session_id: UUID, principal: Principal, *, reason: str | None
) -> SessionView:
    """Records who cancelled and why; the invite becomes METHOD:CANCEL / STATUS:CANCELLED. Allowed on
    a closed relationship too."""

    async def change(conn: Conn, acc: Access, now: datetime) -> tuple[SessionRow, EventPayload]:
        await _scheduled(conn, acc, session_id)
        s = await sessions_db.cancel(conn, session_id, by=principal.subject, reason=reason, now=now)
        return s, SessionCancelledV2(
            **session_fields(acc.rel, s),
            starts_at=s.starts_at,
            cancelled_by=principal.subject,
            reason=reason,
            invite=invite_for(acc.rel, s, rt.settings.invite_organizer_email),
        )

    return await _change(rt, relationship_id, principal, change, open_only=False)


def _held_event(acc: Access, s: SessionRow, report: HeldReport) -> SessionHeldV2:
    assert s.held_at is not None, "marked held in this transaction"
    return SessionHeldV2(
        **session_fields(acc.rel, s),
        held_at=s.held_at,
        actual_duration_minutes=report.actual_duration_minutes,
        topics=report.topics,
        action_items=len(report.action_items),
    )


async def _mark_held(
    conn: Conn, session_id: UUID, principal: Principal, report: HeldReport, held_at: datetime, now: datetime
) -> SessionRow:
    started(held_at, now)
    held = Held(
        held_at=held_at,
        actual_duration_minutes=report.actual_duration_minutes,
        topics=report.topics,
        shared_notes=report.shared_notes,
        action_items=report.action_items,
        recorded_by=principal.subject,
    )
    s = await sessions_db.mark_held(conn, session_id, held, now)
    if report.private_note:
        await notes_db.put(conn, session_id, principal.subject, report.private_note, now)
    return s


def _assess(rt: Rt, relationship_id: UUID) -> After:
    async def assess_pair(conn: Conn, now: datetime) -> object:
        # A held session can end a risk (or start a one-directional one): assess this pair now
        # rather than at the next scheduler tick.
        return await health_tick(conn, rt.clock, rt.settings, rt.outbox, only=relationship_id)

    return assess_pair


async def record_held(
    rt: Rt, relationship_id: UUID, session_id: UUID, principal: Principal, report: HeldReport
) -> SessionView:
    """Records that the session took place (once it has started): duration, topics with direction,
    notes, action items; then assesses the pair's health at once, in the same transaction."""

    async def change(conn: Conn, acc: Access, now: datetime) -> tuple[SessionRow, EventPayload]:
        old = await _scheduled(conn, acc, session_id)
        held_at = to_utc(report.held_at) if report.held_at is not None else old.starts_at
        s = await _mark_held(conn, session_id, principal, report, held_at, now)
        return s, _held_event(acc, s, report)

    return await _change(rt, relationship_id, principal, change, after=_assess(rt, relationship_id))


async def log_held(
    rt: Rt,
    relationship_id: UUID,
    principal: Principal,
    *,
    starts_at: datetime,
    location: str | None,
    report: HeldReport,
) -> SessionView:
    """Records a session that already happened and was never scheduled: stored as held at once
    (``logged``), it publishes `session.held` only, so no invite and no "scheduled" message goes out.
    It counts like any held session (cadence, balance, health, reporting)."""
    sid = uuid.uuid4()

    async def change(conn: Conn, acc: Access, now: datetime) -> tuple[SessionRow, EventPayload]:
        past_start(starts_at, now)
        await sessions_db.insert(
            conn,
            session_id=sid,
            relationship_id=relationship_id,
            starts_at=starts_at,
            duration_minutes=min(max(report.actual_duration_minutes, 5), 480),  # the planned slot's bounds
            location=location,
            ical_uid=session_uid(str(sid), rt.settings.invite_uid_domain),
            scheduled_by=principal.subject,
            now=now,
            logged=True,
        )
        s = await _mark_held(conn, sid, principal, report, starts_at, now)
        return s, _held_event(acc, s, report)

    return await _change(rt, relationship_id, principal, change, after=_assess(rt, relationship_id))
