"""Circle health: the periodic assessment of every open circle (signal each risk once when it
starts, resolve it when it ends, close circles whose end date has passed) and one circle's health
report, with its exchange index.

As for pairs (app/health.py): the job runs under `run_once` (advisory lock per tick), and the unique
open row per (circle, reason) in `circle_health_signals` makes a risk signalled once even if two ticks
overlap or a tick is repeated after a restart. circle.at_risk carries `escalate_at` (detected +
`circle_escalate_after_days`): notifications nudges the facilitator first, then HR at that time if
the risk is still open.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bridge_sessions.app.circle_access import load_circle_access
from bridge_sessions.app.circle_closure import close_circle
from bridge_sessions.db import Conn
from bridge_sessions.db import circle_health as health_db
from bridge_sessions.db import circle_sessions as sessions_db
from bridge_sessions.db import circles as circles_db
from bridge_sessions.domain.circle_health import CircleInputs, CirclePolicy, assess_circle, attendance_rate
from bridge_sessions.domain.circle_rows import CIRCLE_RISKS, CircleHealthStatsRow, CircleSignalRow
from bridge_sessions.domain.exchange import exchange_index, flow_counts
from bridge_sessions.domain.refs import circle_fields, circle_subject
from bridge_sessions.settings import SessionsSettings
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.circles import CircleAtRiskV1, CircleRiskResolvedV1
from bridge_shared.db.connection import connection
from bridge_shared.outbox.writer import Outbox
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import Clock
from bridge_shared.scheduling.singleton import Job, run_once

log = logging.getLogger(__name__)
JOB_NAME = "sessions.circle_health"
CLOSED_BY_SCHEDULER = "scheduler"


@dataclass
class CircleTickResult:
    signalled: list[tuple[str, str]] = field(default_factory=list)
    resolved: list[tuple[str, str]] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)


def policy_for(settings: SessionsSettings, cohort_threshold: int | None) -> CirclePolicy:
    return CirclePolicy(
        inactivity_threshold_days=cohort_threshold or settings.default_inactivity_threshold_days,
        attendance_window_sessions=settings.circle_attendance_window_sessions,
        attendance_threshold=settings.circle_attendance_threshold,
        dominance_window_sessions=settings.circle_dominance_window_sessions,
        dominance_min_contributions=settings.circle_dominance_min_contributions,
        dominance_threshold=settings.circle_dominance_threshold,
    )


def inputs_for(row: CircleHealthStatsRow, now: datetime) -> CircleInputs:
    return CircleInputs(
        now=now,
        started_at=row.started_at,
        members=row.members,
        last_held_at=row.last_held_at,
        end_date=row.end_date,
        recent_attendance=row.recent_attendance,
        recent_contributors=row.recent_contributors,
    )


async def _stats(
    conn: Conn, settings: SessionsSettings, now: datetime, only: str | None, *, closed_too: bool = False
) -> list[CircleHealthStatsRow]:
    return await health_db.stats(
        conn,
        now,
        settings.circle_attendance_window_sessions,
        settings.circle_dominance_window_sessions,
        only,
        closed_too=closed_too,
    )


async def circle_health_tick(
    conn: Conn, clock: Clock, settings: SessionsSettings, outbox: Outbox, *, only: str | None = None
) -> CircleTickResult:
    """Assesses every open circle, or just `only` (right after one of its sessions is held), in the
    caller's transaction."""
    now = clock.now()
    result = CircleTickResult()
    known = await health_db.open_risks(conn, only)
    for row in await _stats(conn, settings, now, only):
        found = assess_circle(inputs_for(row, now), policy_for(settings, row.cohort_threshold))
        if found.due_to_complete:
            closed = await close_circle(
                conn,
                outbox,
                settings,
                row.circle_id,
                outcome="completed",
                reason=None,
                closed_by=CLOSED_BY_SCHEDULER,
                now=now,
            )
            if closed is not None:
                result.closed.append(row.circle_id)
            continue
        for reason in CIRCLE_RISKS:
            cond, was_open = found.risks.get(reason), (row.circle_id, reason) in known
            if cond is not None and not was_open:
                escalate_at = now + timedelta(days=settings.circle_escalate_after_days)
                if await health_db.open_signal(conn, row.circle_id, reason, cond.detail, now, escalate_at):
                    circle = await circles_db.get(conn, row.circle_id)
                    assert circle is not None, "read in this transaction"
                    await outbox.add(
                        conn,
                        CircleAtRiskV1(
                            **circle_fields(circle),
                            member_ids=circle.member_ids,
                            facilitator_id=circle.facilitator_id,
                            reason=reason,
                            detected_at=now,
                            escalate_at=escalate_at,
                            hr_contact_email=circle.hr_contact_email,
                        ),
                        subject=circle_subject(circle),
                    )
                    result.signalled.append((row.circle_id, reason))
            elif cond is None and was_open and await health_db.resolve(conn, row.circle_id, reason, now):
                await outbox.add(
                    conn,
                    CircleRiskResolvedV1(
                        circle_id=row.circle_id, cohort_id=row.cohort_id, reason=reason, resolved_at=now
                    ),
                    subject=f"circle/{row.circle_id}",
                )
                result.resolved.append((row.circle_id, reason))
    if result.signalled or result.resolved or result.closed:
        log.info(
            "circle health tick: %d signalled, %d resolved, %d closed",
            len(result.signalled),
            len(result.resolved),
            len(result.closed),
        )
    return result


def circle_health_job(rt: Runtime[SessionsSettings]) -> Job:
    """The tick as a `run_once` job: the lock's transaction, the given clock."""

    async def job(conn: Conn, clock: Clock) -> CircleTickResult:
        return await circle_health_tick(conn, clock, rt.settings, rt.outbox)

    return job


async def run_circle_health_tick(
    rt: Runtime[SessionsSettings], clock: Clock | None = None
) -> tuple[bool, CircleTickResult | None]:
    """One tick on this instance, if no other instance is running one (tests and operators)."""
    ran, out = await run_once(rt.pool, JOB_NAME, circle_health_job(rt), clock or rt.clock)
    return ran, out


@dataclass(frozen=True, slots=True)
class CircleHealthReport:
    circle_id: str
    open_risks: list[str]
    signals: list[CircleSignalRow]
    sessions_held: int
    last_held_at: datetime | None
    attendance_rate: float | None
    attendance_window_sessions: int
    exchange_index: float | None
    learning_junior_to_senior: int
    learning_senior_to_junior: int
    contributions: dict[str, int]
    dominance_window_sessions: int


async def report(rt: Runtime[SessionsSettings], circle_id: str, principal: Principal) -> CircleHealthReport:
    """Open risks, signal history, sessions held, the attendance rate and who contributed over the
    recent windows, and the exchange index over every held session."""
    s = rt.settings
    async with connection(rt.pool) as conn:
        await load_circle_access(conn, circle_id, principal)
        signals = await health_db.for_circle(conn, circle_id)
        stats = await _stats(conn, s, rt.clock.now(), circle_id, closed_too=True)
        held = await sessions_db.count_held(conn, circle_id)
        a, b = flow_counts(await sessions_db.learning_generations(conn, circle_id))
    row = stats[0] if stats else None
    return CircleHealthReport(
        circle_id=circle_id,
        open_risks=sorted(x.reason for x in signals if x.resolved_at is None),
        signals=signals,
        sessions_held=held,
        last_held_at=row.last_held_at if row else None,
        attendance_rate=attendance_rate(row.recent_attendance) if row else None,
        attendance_window_sessions=s.circle_attendance_window_sessions,
        exchange_index=exchange_index(a, b),
        learning_junior_to_senior=a,
        learning_senior_to_junior=b,
        contributions=dict(Counter(row.recent_contributors)) if row else {},
        dominance_window_sessions=s.circle_dominance_window_sessions,
    )
