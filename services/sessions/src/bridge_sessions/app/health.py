"""Relationship health: the periodic assessment (signal each condition once when it starts, resolve
it when it ends, announce the notices: the mid-point survey opening once per relationship and
ending_soon once per end date, close relationships whose end date has passed) and the health report
of one relationship.

The job runs under `run_once` (transaction-level advisory lock per tick), and the unique rows in
`health_signals` (open risk per relationship and reason; midpoint_survey per relationship;
ending_soon per relationship and end date) make a signal happen once even if two ticks overlap
without the lock, or a tick is repeated after a restart: the INSERT ... ON CONFLICT DO NOTHING
that signals is the same statement that records.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from bridge_sessions.app.access import load_access
from bridge_sessions.app.closure import close_relationship
from bridge_sessions.db import Conn
from bridge_sessions.db import health as health_db
from bridge_sessions.db import sessions as sessions_db
from bridge_sessions.domain.balance import balance_index, direction_counts
from bridge_sessions.domain.health import Inputs, Policy, assess
from bridge_sessions.domain.refs import relationship_fields, subject
from bridge_sessions.domain.rows import HealthStatsRow, SignalRow
from bridge_sessions.domain.surveys import survey_path
from bridge_sessions.settings import SessionsSettings
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.sessions import (
    PairAtRiskV1,
    PairRiskResolvedV1,
    RelationshipEndingSoonV1,
    SurveyOpenedV1,
)
from bridge_shared.db.connection import connection
from bridge_shared.events.registry import EventPayload
from bridge_shared.outbox.writer import Outbox
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import Clock
from bridge_shared.scheduling.singleton import Job, run_once

log = logging.getLogger(__name__)
JOB_NAME = "sessions.health"
RISKS = ("inactive", "cadence_slipping", "one_directional")


@dataclass
class TickResult:
    signalled: list[tuple[str, str]] = field(default_factory=list)
    resolved: list[tuple[str, str]] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)


def policy_for(settings: SessionsSettings, cohort_threshold: int | None) -> Policy:
    return Policy(
        inactivity_threshold_days=cohort_threshold or settings.default_inactivity_threshold_days,
        cadence_slack_sessions=settings.cadence_slack_sessions,
        balance_window_sessions=settings.balance_window_sessions,
        balance_min_sessions=settings.balance_min_sessions,
        balance_threshold=settings.balance_threshold,
        ending_soon_days=settings.ending_soon_days,
        midpoint_survey_days=settings.midpoint_survey_days,
    )


def inputs_for(row: HealthStatsRow, now: datetime) -> Inputs:
    a, b = direction_counts(t for topics in row.recent_topics for t in topics)
    return Inputs(
        now=now,
        started_at=row.started_at,
        last_held_at=row.last_held_at,
        agreement_start=row.agreement_start,
        agreement_end=row.agreement_end,
        cadence_days=row.cadence_days,
        held_since_agreement_start=row.held_since_start,
        end_date=row.agreement_end or row.planned_end,
        recent_held_sessions=len(row.recent_topics),
        recent_mentor_to_mentee=a,
        recent_mentee_to_mentor=b,
    )


async def health_tick(
    conn: Conn, clock: Clock, settings: SessionsSettings, outbox: Outbox, *, only: UUID | None = None
) -> TickResult:
    """Assesses every open relationship, or just `only` (right after one of its sessions is held),
    in the caller's transaction."""
    now = clock.now()
    result = TickResult()
    rows = await health_db.stats(conn, now, settings.balance_window_sessions, only)
    known = await health_db.signalled(conn, only)
    for row in rows:
        found = assess(inputs_for(row, now), policy_for(settings, row.cohort_threshold))
        if found.due_to_complete:
            closed = await close_relationship(
                conn,
                outbox,
                settings,
                row.id,
                outcome="completed",
                reason=None,
                closed_by="scheduler",
                now=now,
            )
            if closed is not None:
                result.closed.append(str(row.id))
            continue
        for reason in RISKS:
            cond, was_open = found.risks.get(reason), (row.id, reason) in known.open_risks
            if cond is not None and not was_open:
                event: EventPayload = PairAtRiskV1(
                    **relationship_fields(row),
                    reason=reason,
                    detail=cond.detail,
                    detected_at=now,
                    mentor_id=row.mentor_id,
                    mentee_id=row.mentee_id,
                    hr_contact_email=row.hr_contact_email,
                    metric=cond.metric,
                )
                if await _signal(conn, outbox, row, reason, cond.detail, now, event):
                    result.signalled.append((str(row.id), reason))
            elif cond is None and was_open and await health_db.resolve(conn, row.id, reason, now):
                await outbox.add(
                    conn,
                    PairRiskResolvedV1(**relationship_fields(row), reason=reason, resolved_at=now),
                    subject=subject(row),
                )
                result.resolved.append((str(row.id), reason))
        survey = found.midpoint_survey
        if survey is not None and row.id not in known.midpoint_survey:
            event = SurveyOpenedV1(
                **relationship_fields(row),
                mentor_id=row.mentor_id,
                mentee_id=row.mentee_id,
                kind="midpoint",
                opened_at=now,
                due=found.survey_due,
                survey_path=survey_path(row.id, "midpoint"),
            )
            if await _signal(conn, outbox, row, "midpoint_survey", survey.detail, now, event):
                result.signalled.append((str(row.id), "midpoint_survey"))
        soon, end_date = found.ending_soon, row.agreement_end or row.planned_end
        if soon is not None and end_date is not None and (row.id, end_date) not in known.ending_soon:
            event = RelationshipEndingSoonV1(
                **relationship_fields(row),
                end_date=end_date,
                mentor_id=row.mentor_id,
                mentee_id=row.mentee_id,
                days_left=found.days_left,
            )
            if await _signal(conn, outbox, row, "ending_soon", soon.detail, now, event, end_date=end_date):
                result.signalled.append((str(row.id), "ending_soon"))
    if result.signalled or result.resolved or result.closed:
        log.info(
            "health tick: %d signalled, %d resolved, %d closed",
            len(result.signalled),
            len(result.resolved),
            len(result.closed),
        )
    return result


async def _signal(
    conn: Conn,
    outbox: Outbox,
    row: HealthStatsRow,
    reason: str,
    detail: str,
    now: datetime,
    event: EventPayload,
    *,
    end_date: date | None = None,
) -> bool:
    """Records the condition and publishes `event`, unless its row exists already (then neither)."""
    if not await health_db.open_signal(conn, row.id, reason, detail, now, end_date=end_date):
        return False
    await outbox.add(conn, event, subject=subject(row))
    return True


def health_job(rt: Runtime[SessionsSettings]) -> Job:
    """The tick as a `run_once` job: the lock's transaction, the given clock."""

    async def job(conn: Conn, clock: Clock) -> TickResult:
        return await health_tick(conn, clock, rt.settings, rt.outbox)

    return job


async def run_health_tick(
    rt: Runtime[SessionsSettings], clock: Clock | None = None
) -> tuple[bool, TickResult | None]:
    """One tick on this instance, if no other instance is running one (tests and operators)."""
    ran, out = await run_once(rt.pool, JOB_NAME, health_job(rt), clock or rt.clock)
    return ran, out


@dataclass(frozen=True, slots=True)
class HealthReport:
    relationship_id: UUID
    open_risks: list[str]
    signals: list[SignalRow]
    sessions_held: int
    last_held_at: datetime | None
    balance_index: float | None
    balance_window_sessions: int
    topics_mentor_to_mentee: int
    topics_mentee_to_mentor: int


async def report(rt: Runtime[SessionsSettings], relationship_id: UUID, principal: Principal) -> HealthReport:
    """Open risks, signal history, sessions held and the balance index over the recent window."""
    window = rt.settings.balance_window_sessions
    async with connection(rt.pool) as conn:
        await load_access(conn, relationship_id, principal)
        signals = await health_db.for_relationship(conn, relationship_id)
        held = await sessions_db.held_topics(conn, relationship_id)
    a, b = direction_counts(t for s in held[:window] for t in s.topics)
    return HealthReport(
        relationship_id=relationship_id,
        open_risks=sorted(s.reason for s in signals if s.resolved_at is None and s.reason in RISKS),
        signals=signals,
        sessions_held=len(held),
        last_held_at=held[0].held_at if held else None,
        balance_index=balance_index(a, b),
        balance_window_sessions=window,
        topics_mentor_to_mentee=a,
        topics_mentee_to_mentor=b,
    )
