"""health_signals (one open row per relationship and reason; ending_soon once ever) and the figures
the health assessment reads."""

from __future__ import annotations

from datetime import datetime
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


async def signalled(conn: Conn, only: UUID | None) -> set[tuple[UUID, str]]:
    """(relationship, reason) of open signals, and of every ending_soon ever signalled."""
    rows = await conn.fetch(
        "SELECT relationship_id, reason FROM health_signals "
        "WHERE (resolved_at IS NULL OR reason = 'ending_soon') "
        "AND ($1::uuid IS NULL OR relationship_id = $1)",
        only,
    )
    return {(r["relationship_id"], r["reason"]) for r in rows}


async def open_signal(conn: Conn, relationship_id: UUID, reason: str, detail: str, now: datetime) -> bool:
    """False when it is open already (or, for ending_soon, was ever signalled): the unique row decides."""
    inserted = await conn.fetchval(
        """INSERT INTO health_signals (relationship_id, reason, detail, detected_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id""",
        relationship_id,
        reason,
        detail,
        now,
    )
    return inserted is not None


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
    """Resolves every open risk (not ending_soon) of the relationship; returns their reasons."""
    rows = await conn.fetch(
        """UPDATE health_signals SET resolved_at = $2
           WHERE relationship_id = $1 AND resolved_at IS NULL AND reason <> 'ending_soon' RETURNING reason""",
        relationship_id,
        now,
    )
    return [r["reason"] for r in rows]


async def for_relationship(conn: Conn, relationship_id: UUID) -> list[SignalRow]:
    rows = await conn.fetch(
        "SELECT * FROM health_signals WHERE relationship_id = $1 ORDER BY detected_at, id", relationship_id
    )
    return [SignalRow(**r) for r in rows]
