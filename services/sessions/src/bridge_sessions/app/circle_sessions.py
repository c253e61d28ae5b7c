"""Group sessions of a circle: schedule (a future start), reschedule, cancel, the facilitator's pick
of an activity, record as held (the facilitator: attendance, the activity's ideas, the learning
record), log one that already happened (no invite); one calendar invite to every member.

Every change runs the same sequence as a pair's session (app/sessions.py `_change`): lock the circle
and check the caller (a member; the facilitator where it says so) and, except for cancelling, that it
is still open; lock and check the session (it must still be scheduled); apply the change; publish its
event in the same transaction; answer with the session as the caller sees it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from bridge_sessions.app.circle_access import CircleAccess, load_circle_access, member_access
from bridge_sessions.app.circle_health import circle_health_tick
from bridge_sessions.app.session_checks import found, future_start, past_start, started, still_scheduled
from bridge_sessions.db import Conn
from bridge_sessions.db import circle_sessions as sessions_db
from bridge_sessions.domain.circle_outcome import Outcome, activity_errors, outcome_errors, recorded
from bridge_sessions.domain.circle_rows import CircleRow, CircleSessionDetail, CircleSessionRow
from bridge_sessions.domain.exchange import exchange_index, flow_counts
from bridge_sessions.domain.ical import circle_session_uid
from bridge_sessions.domain.invites import circle_ics_for, circle_invite_for
from bridge_sessions.domain.refs import circle_session_fields, circle_subject
from bridge_sessions.settings import SessionsSettings
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.circles import (
    CircleIdea,
    CircleSessionCancelledV1,
    CircleSessionHeldV1,
    CircleSessionRescheduledV1,
    CircleSessionScheduledV1,
    LearningFlow,
)
from bridge_shared.db.connection import connection
from bridge_shared.db.connection import transaction as begin
from bridge_shared.errors import Problem
from bridge_shared.events.registry import EventPayload
from bridge_shared.runtime import Runtime

Rt = Runtime[SessionsSettings]


@dataclass(frozen=True, slots=True)
class CircleSessionView:
    """A circle session as one caller sees it."""

    circle: CircleRow
    detail: CircleSessionDetail
    hidden: frozenset[str]
    """Members outside the caller's scope: their local time (time zone) is not shown (rule 3)."""
    locale: str | None
    """The caller's locale when a member (the activity's title in it)."""


@dataclass(frozen=True, slots=True)
class HeldReport:
    held_at: datetime | None
    activity_id: tuple[str | None] | None
    """None keeps the session's activity; `(value,)` sets it."""
    outcome: Outcome


def _view(acc: CircleAccess, detail: CircleSessionDetail) -> CircleSessionView:
    return CircleSessionView(acc.circle, detail, acc.hidden, acc.me.locale if acc.me else None)


async def _detail(conn: Conn, s: CircleSessionRow) -> CircleSessionDetail:
    return (await sessions_db.details(conn, [s]))[0]


async def find(conn: Conn, acc: CircleAccess, session_id: UUID, *, lock: bool = False) -> CircleSessionRow:
    return found(await sessions_db.get(conn, acc.circle.id, session_id, lock=lock))


def _check_activity(activity_id: str | None) -> None:
    errors = activity_errors(activity_id)
    if errors:
        raise Problem(422, "Invalid request", "Pick an activity from GET /activities.", errors=errors)


# -- reads -------------------------------------------------------------------------------------


async def list_for(rt: Rt, circle_id: str, principal: Principal) -> list[CircleSessionView]:
    async with connection(rt.pool) as conn:
        acc = await load_circle_access(conn, circle_id, principal)
        details = await sessions_db.details(conn, await sessions_db.for_circle(conn, circle_id))
    return [_view(acc, d) for d in details]


async def get(rt: Rt, circle_id: str, session_id: UUID, principal: Principal) -> CircleSessionView:
    async with connection(rt.pool) as conn:
        acc = await load_circle_access(conn, circle_id, principal)
        return _view(acc, await _detail(conn, await find(conn, acc, session_id)))


async def invite_ics(rt: Rt, circle_id: str, session_id: UUID, principal: Principal) -> str:
    """The RFC 5545 calendar object for the session's current state (REQUEST, or CANCEL)."""
    async with connection(rt.pool) as conn:
        acc = await load_circle_access(conn, circle_id, principal)
        s = await find(conn, acc, session_id)
    if s.logged:
        raise Problem(404, "No calendar invite", "This session was logged after it happened: it has none.")
    # Rule 3: no e-mail address of a member outside the caller's scope (regional HR).
    return circle_ics_for(acc.circle, s, rt.settings.invite_organizer_email, hidden=acc.hidden)


# -- changes -----------------------------------------------------------------------------------

Change = Callable[[Conn, CircleAccess, datetime], Awaitable[tuple[CircleSessionRow, EventPayload | None]]]


async def _change(
    rt: Rt,
    circle_id: str,
    principal: Principal,
    change: Change,
    *,
    open_only: bool = True,
    facilitator: bool = False,
    assess: bool = False,
) -> CircleSessionView:
    """Lock, check, change, publish, respond: the one sequence behind every circle session change.
    `assess`: a held session can start or end a risk; the circle is assessed at once, in the same
    transaction, rather than at the next tick."""
    now = rt.clock.now()
    async with begin(rt.pool) as conn:
        acc = await member_access(
            conn, circle_id, principal, for_update=True, open_only=open_only, facilitator=facilitator
        )
        s, event = await change(conn, acc, now)
        if event is not None:
            await rt.outbox.add(conn, event, subject=circle_subject(acc.circle))
        if assess:
            await circle_health_tick(conn, rt.clock, rt.settings, rt.outbox, only=circle_id)
        return _view(acc, await _detail(conn, s))


async def _scheduled(conn: Conn, acc: CircleAccess, session_id: UUID) -> CircleSessionRow:
    """The session, locked; 409 unless it is still scheduled."""
    return still_scheduled(await find(conn, acc, session_id, lock=True))


async def schedule(
    rt: Rt,
    circle_id: str,
    principal: Principal,
    *,
    starts_at: datetime,
    duration_minutes: int,
    location: str | None,
    activity_id: str | None,
) -> CircleSessionView:
    """Any member schedules; only the facilitator picks the activity (here or later)."""
    sid = uuid.uuid4()
    _check_activity(activity_id)

    async def change(conn: Conn, acc: CircleAccess, now: datetime) -> tuple[CircleSessionRow, EventPayload]:
        if activity_id is not None:
            acc.facilitator()
        future_start(starts_at, now)
        s = await sessions_db.insert(
            conn,
            session_id=sid,
            circle_id=circle_id,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            location=location,
            activity_id=activity_id,
            ical_uid=circle_session_uid(str(sid), rt.settings.invite_uid_domain),
            scheduled_by=acc.participant_id,
            now=now,
        )
        return s, CircleSessionScheduledV1(
            **circle_session_fields(acc.circle, s),
            starts_at=s.starts_at,
            duration_minutes=s.duration_minutes,
            activity_id=s.activity_id,
            invite=circle_invite_for(acc.circle, s, rt.settings.invite_organizer_email),
        )

    return await _change(rt, circle_id, principal, change)


async def reschedule(
    rt: Rt,
    circle_id: str,
    session_id: UUID,
    principal: Principal,
    *,
    starts_at: datetime,
    duration_minutes: int | None,
    location: tuple[str | None] | None,
) -> CircleSessionView:
    """Same invite UID, higher SEQUENCE: every member's calendar moves the existing event."""

    async def change(conn: Conn, acc: CircleAccess, now: datetime) -> tuple[CircleSessionRow, EventPayload]:
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
        return s, CircleSessionRescheduledV1(
            **circle_session_fields(acc.circle, s),
            previous_starts_at=old.starts_at,
            starts_at=s.starts_at,
            duration_minutes=s.duration_minutes,
            invite=circle_invite_for(acc.circle, s, rt.settings.invite_organizer_email),
        )

    return await _change(rt, circle_id, principal, change)


async def cancel(
    rt: Rt, circle_id: str, session_id: UUID, principal: Principal, *, reason: str | None
) -> CircleSessionView:
    """Any member; the invite becomes METHOD:CANCEL / STATUS:CANCELLED. Allowed on a closed circle
    too (its sessions to come were cancelled when it closed)."""

    async def change(conn: Conn, acc: CircleAccess, now: datetime) -> tuple[CircleSessionRow, EventPayload]:
        await _scheduled(conn, acc, session_id)
        s = await sessions_db.cancel(conn, session_id, by=acc.participant_id, reason=reason, now=now)
        return s, CircleSessionCancelledV1(
            **circle_session_fields(acc.circle, s),
            starts_at=s.starts_at,
            invite=circle_invite_for(acc.circle, s, rt.settings.invite_organizer_email),
        )

    return await _change(rt, circle_id, principal, change, open_only=False)


async def pick_activity(
    rt: Rt, circle_id: str, session_id: UUID, principal: Principal, activity_id: str | None
) -> CircleSessionView:
    """The facilitator picks (or clears) the activity of a scheduled session. No event: the activity
    travels with circle_session.held, and with the invite of the next change."""
    _check_activity(activity_id)

    async def change(conn: Conn, acc: CircleAccess, now: datetime) -> tuple[CircleSessionRow, None]:
        await _scheduled(conn, acc, session_id)
        return await sessions_db.set_activity(conn, session_id, activity_id), None

    return await _change(rt, circle_id, principal, change, facilitator=True)


def _outcome_ok(circle: CircleRow, report: HeldReport) -> None:
    errors = outcome_errors(circle, report.outcome)
    if errors:
        raise Problem(
            422,
            "Invalid request",
            "Attendance, ideas and learning must name the circle's members who attended.",
            errors=errors,
        )


async def _mark_held(
    conn: Conn, acc: CircleAccess, s: CircleSessionRow, report: HeldReport, held_at: datetime, now: datetime
) -> tuple[CircleSessionRow, EventPayload]:
    started(held_at, now)
    attendance, ideas, learning = recorded(acc.circle, report.outcome)
    s = await sessions_db.mark_held(
        conn,
        s.id,
        held_at=held_at,
        activity_id=report.activity_id,
        recorded_by=acc.participant_id,
        now=now,
        attendance=attendance,
        ideas=ideas,
        learning=learning,
    )
    a, b = flow_counts(await sessions_db.learning_generations(conn, acc.circle.id))
    assert s.held_at is not None, "marked held in this transaction"
    return s, CircleSessionHeldV1(
        **circle_session_fields(acc.circle, s),
        starts_at=s.starts_at,
        attended_ids=[p for p, present in attendance.items() if present],
        activity_id=s.activity_id,
        ideas=[CircleIdea.model_validate(i) for i in ideas],
        learning=[LearningFlow.model_validate(f) for f in learning],
        exchange_index=exchange_index(a, b),
        held_at=s.held_at,
    )


async def record_held(
    rt: Rt, circle_id: str, session_id: UUID, principal: Principal, report: HeldReport
) -> CircleSessionView:
    """The facilitator records that the session took place (once it has started): attendance, the
    activity and its ideas, the learning record; then the circle's health is assessed at once."""
    if report.activity_id is not None:
        _check_activity(report.activity_id[0])

    async def change(conn: Conn, acc: CircleAccess, now: datetime) -> tuple[CircleSessionRow, EventPayload]:
        s = await _scheduled(conn, acc, session_id)
        _outcome_ok(acc.circle, report)
        return await _mark_held(conn, acc, s, report, report.held_at or s.starts_at, now)

    return await _change(rt, circle_id, principal, change, facilitator=True, assess=True)


async def log_held(
    rt: Rt,
    circle_id: str,
    principal: Principal,
    *,
    starts_at: datetime,
    duration_minutes: int,
    location: str | None,
    report: HeldReport,
) -> CircleSessionView:
    """The facilitator records a session that already happened and was never scheduled: stored as
    held at once (``logged``), it publishes circle_session.held only: no invite, no "scheduled"."""
    sid = uuid.uuid4()
    if report.activity_id is not None:
        _check_activity(report.activity_id[0])

    async def change(conn: Conn, acc: CircleAccess, now: datetime) -> tuple[CircleSessionRow, EventPayload]:
        past_start(starts_at, now)
        _outcome_ok(acc.circle, report)
        s = await sessions_db.insert(
            conn,
            session_id=sid,
            circle_id=circle_id,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            location=location,
            activity_id=None,
            ical_uid=circle_session_uid(str(sid), rt.settings.invite_uid_domain),
            scheduled_by=acc.participant_id,
            now=now,
            logged=True,
        )
        return await _mark_held(conn, acc, s, report, starts_at, now)

    return await _change(rt, circle_id, principal, change, facilitator=True, assess=True)
