"""health_signals (one open row per relationship and reason for the risks; the notices, never
resolved: ending_soon once per relationship and end date, midpoint_survey once per relationship) and
the figures the health assessment reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from bridge_sessions.db import Conn
from bridge_sessions.domain.rows import HealthStatsRow, SignalRow

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


async def stats(conn: Conn, now: datetime, window: int, only: UUID | None) -> list[HealthStatsRow]:
    """Every open relationship (or just `only`) with its held sessions up to `now`, the topics of the
    last `window` of them, its agreement in force and its cohort's inactivity threshold."""
    rows = await conn.fetch(_STATS, now, window, only)
    return [HealthStatsRow(**r) for r in rows]


# Signals that announce rather than warn: never resolved, never an open risk.
NOTICES = ("ending_soon", "midpoint_survey")


@dataclass(frozen=True, slots=True)
class Signalled:
    """What has been signalled already: open risks as (relationship, reason), every end date an
    ending_soon announced, and the relationships whose mid-point survey was announced."""

    open_risks: set[tuple[UUID, str]] = field(default_factory=set)
    ending_soon: set[tuple[UUID, date]] = field(default_factory=set)
    midpoint_survey: set[UUID] = field(default_factory=set)


async def signalled(conn: Conn, only: UUID | None) -> Signalled:
    """Open risks, and every notice ever signalled, of every relationship (or just `only`)."""
    rows = await conn.fetch(
        "SELECT relationship_id, reason, end_date FROM health_signals "
        "WHERE (resolved_at IS NULL OR reason = ANY($2::text[])) "
        "AND ($1::uuid IS NULL OR relationship_id = $1)",
        only,
        list(NOTICES),
    )
    out = Signalled()
    for r in rows:
        if r["reason"] == "ending_soon":
            out.ending_soon.add((r["relationship_id"], r["end_date"]))
        elif r["reason"] == "midpoint_survey":
            out.midpoint_survey.add(r["relationship_id"])
        else:
            out.open_risks.add((r["relationship_id"], r["reason"]))
    return out


async def open_signal(
    conn: Conn,
    relationship_id: UUID,
    reason: str,
    detail: str,
    now: datetime,
    *,
    end_date: date | None = None,
) -> bool:
    """False when it is open already (ending_soon: was ever signalled for this `end_date`;
    midpoint_survey: was ever signalled): the unique row decides (migrations 0002 and 0006)."""
    inserted = await conn.fetchval(
        """INSERT INTO health_signals (relationship_id, reason, detail, detected_at, end_date)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id""",
        relationship_id,
        reason,
        detail,
        now,
        end_date,
    )
    return inserted is not None


async def midpoint_survey_opened(conn: Conn, relationship_id: UUID) -> bool:
    """Whether the relationship's mid-point survey has been announced (then it stays open)."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM health_signals "
        "WHERE relationship_id = $1 AND reason = 'midpoint_survey')",
        relationship_id,
    )
    return found


async def resolve(conn: Conn, relationship_id: UUID, reason: str, now: datetime) -> bool:
    done = await conn.fetchval(
        """UPDATE health_signals SET resolved_at = $3
           WHERE relationship_id = $1 AND reason = $2 AND resolved_at IS NULL RETURNING id""",
        relationship_id,
        reason,
        now,
    )
    return done is not None


async def resolve_open_risks(conn: Conn, relationship_id: UUID, now: datetime) -> list[str]:
    """Resolves every open risk (not the notices) of the relationship; returns their reasons."""
    rows = await conn.fetch(
        """UPDATE health_signals SET resolved_at = $2
           WHERE relationship_id = $1 AND resolved_at IS NULL AND reason <> ALL($3::text[])
           RETURNING reason""",
        relationship_id,
        now,
        list(NOTICES),
    )
    return [r["reason"] for r in rows]


async def for_relationship(conn: Conn, relationship_id: UUID) -> list[SignalRow]:
    rows = await conn.fetch(
        "SELECT * FROM health_signals WHERE relationship_id = $1 ORDER BY detected_at, id", relationship_id
    )
    return [SignalRow(**r) for r in rows]
