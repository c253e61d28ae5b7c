"""The health scheduler's tick: detect conditions, signal each once, resolve when it ends, close
relationships whose end date has passed.

Runs under `run_once` (transaction-level advisory lock per tick), and the unique open row per
(relationship, reason) in `health_signals` makes a signal happen once even if two ticks overlap
without the lock, or a tick is repeated after a restart: the INSERT ... ON CONFLICT DO NOTHING
that signals is the same statement that records.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from bridge_sessions.api.common import rel_fields, subject
from bridge_sessions.closure import close_relationship
from bridge_sessions.domain.balance import direction_counts
from bridge_sessions.domain.health import Inputs, Policy, assess
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts.sessions import PairAtRiskV1, PairRiskResolvedV1, RelationshipEndingSoonV1
from bridge_shared.outbox.writer import Outbox
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import Clock
from bridge_shared.scheduling.singleton import Job, run_once, run_periodically

log = logging.getLogger(__name__)
JOB_NAME = "sessions.health"
RISKS = ("inactive", "cadence_slipping", "one_directional")

_STATS = """
SELECT r.*, c.inactivity_threshold_days AS cohort_threshold,
       a.cadence_days, a.start_date AS agreement_start, a.end_date AS agreement_end,
       (SELECT max(s.held_at) FROM sessions s
         WHERE s.relationship_id = r.id AND s.status = 'held' AND s.held_at <= $1) AS last_held_at,
       (SELECT count(*) FROM sessions s
         WHERE s.relationship_id = r.id AND s.status = 'held' AND s.held_at <= $1
           AND a.start_date IS NOT NULL AND s.held_at >= (a.start_date::timestamp AT TIME ZONE 'UTC')
       ) AS held_since_start,
       (SELECT coalesce(jsonb_agg(x.topics), '[]'::jsonb) FROM (
            SELECT s.topics FROM sessions s
             WHERE s.relationship_id = r.id AND s.status = 'held' AND s.held_at <= $1
             ORDER BY s.held_at DESC LIMIT $2) x) AS recent_topics
FROM relationships r
LEFT JOIN cohorts c ON c.cohort_id = r.cohort_id
LEFT JOIN agreements a ON a.relationship_id = r.id AND a.status = 'active'
WHERE r.status <> 'closed' AND ($3::uuid IS NULL OR r.id = $3)
ORDER BY r.id
"""


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
    )


def inputs_for(row: Any, now: Any) -> Inputs:
    sessions_topics: list[list[dict[str, Any]]] = row["recent_topics"]
    a, b = direction_counts(t for topics in sessions_topics for t in topics)
    return Inputs(
        now=now,
        started_at=row["started_at"],
        last_held_at=row["last_held_at"],
        agreement_start=row["agreement_start"],
        cadence_days=row["cadence_days"],
        held_since_agreement_start=row["held_since_start"],
        end_date=row["agreement_end"] or row["planned_end"],
        recent_held_sessions=len(sessions_topics),
        recent_mentor_to_mentee=a,
        recent_mentee_to_mentor=b,
    )


async def health_tick(
    conn: asyncpg.Connection[Any],
    clock: Clock,
    settings: SessionsSettings,
    outbox: Outbox,
    *,
    only: UUID | None = None,
) -> TickResult:
    """Assesses every open relationship, or just `only` (right after one of its sessions is held)."""
    now = clock.now()
    result = TickResult()
    rows = await conn.fetch(_STATS, now, settings.balance_window_sessions, only)
    open_rows = await conn.fetch(
        "SELECT relationship_id, reason FROM health_signals "
        "WHERE (resolved_at IS NULL OR reason = 'ending_soon') "
        "AND ($1::uuid IS NULL OR relationship_id = $1)",
        only,
    )
    known = {(r["relationship_id"], r["reason"]) for r in open_rows}
    for row in rows:
        rid = row["id"]
        found = assess(inputs_for(row, now), policy_for(settings, row["cohort_threshold"]))
        if found.due_to_complete:
            if (
                await close_relationship(
                    conn,
                    outbox,
                    settings,
                    rid,
                    outcome="completed",
                    reason=None,
                    closed_by="scheduler",
                    now=now,
                )
                is not None
            ):
                result.closed.append(str(rid))
            continue
        for reason in RISKS:
            cond = found.risks.get(reason)
            if cond is not None and (rid, reason) not in known:
                inserted = await conn.fetchval(
                    """INSERT INTO health_signals (relationship_id, reason, detail, detected_at)
                       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id""",
                    rid,
                    reason,
                    cond.detail,
                    now,
                )
                if inserted is not None:
                    await outbox.add(
                        conn,
                        PairAtRiskV1(
                            **rel_fields(row),
                            reason=reason,
                            detail=cond.detail,
                            detected_at=now,
                            mentor_id=row["mentor_id"],
                            mentee_id=row["mentee_id"],
                            hr_contact_email=row["hr_contact_email"],
                            metric=cond.metric,
                        ),
                        subject=subject(row),
                    )
                    result.signalled.append((str(rid), reason))
            elif cond is None and (rid, reason) in known:
                done = await conn.fetchval(
                    """UPDATE health_signals SET resolved_at = $3
                       WHERE relationship_id = $1 AND reason = $2 AND resolved_at IS NULL RETURNING id""",
                    rid,
                    reason,
                    now,
                )
                if done is not None:
                    await outbox.add(
                        conn,
                        PairRiskResolvedV1(**rel_fields(row), reason=reason, resolved_at=now),
                        subject=subject(row),
                    )
                    result.resolved.append((str(rid), reason))
        if found.ending_soon is not None and (rid, "ending_soon") not in known:
            end = row["agreement_end"] or row["planned_end"]
            inserted = await conn.fetchval(
                """INSERT INTO health_signals (relationship_id, reason, detail, detected_at)
                   VALUES ($1, 'ending_soon', $2, $3) ON CONFLICT DO NOTHING RETURNING id""",
                rid,
                found.ending_soon.detail,
                now,
            )
            if inserted is not None:
                await outbox.add(
                    conn,
                    RelationshipEndingSoonV1(
                        **rel_fields(row),
                        end_date=end,
                        mentor_id=row["mentor_id"],
                        mentee_id=row["mentee_id"],
                        days_left=found.days_left,
                    ),
                    subject=subject(row),
                )
                result.signalled.append((str(rid), "ending_soon"))
    if result.signalled or result.resolved or result.closed:
        log.info(
            "health tick: %d signalled, %d resolved, %d closed",
            len(result.signalled),
            len(result.resolved),
            len(result.closed),
        )
    return result


def health_job(rt: Runtime) -> Job:
    settings = rt.settings
    assert isinstance(settings, SessionsSettings)

    async def job(conn: asyncpg.Connection[Any], clock: Clock) -> TickResult:
        return await health_tick(conn, clock, settings, rt.outbox)

    return job


async def run_health_tick(rt: Runtime, clock: Clock | None = None) -> tuple[bool, TickResult | None]:
    """One tick on this instance, if no other instance is running one (tests and operators)."""
    ran, out = await run_once(rt.pool, JOB_NAME, health_job(rt), clock or rt.clock)
    return ran, out


async def health_scheduler(rt: Runtime) -> None:
    settings = rt.settings
    assert isinstance(settings, SessionsSettings)
    if not settings.health_check_enabled:
        return
    await run_periodically(
        rt.pool,
        JOB_NAME,
        health_job(rt),
        interval_seconds=settings.health_check_interval_seconds,
        clock=rt.clock,
    )
