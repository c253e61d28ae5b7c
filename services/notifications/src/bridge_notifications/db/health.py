"""health_facts: what HR's weekly digest says about programme health (ids, counts, ratings only)."""

from __future__ import annotations

from datetime import datetime

from bridge_notifications.domain.digests import HealthFigures
from bridge_shared.db.connection import Conn


async def add(
    conn: Conn,
    *,
    event_id: str,
    cohort_id: str,
    relationship_id: str,
    kind: str,
    at: datetime,
    reason: str | None = None,
    m2e: int = 0,
    e2m: int = 0,
    rating: int | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO health_facts (event_id, cohort_id, relationship_id, kind, reason, at, m2e, e2m, rating)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (event_id) DO NOTHING""",
        event_id,
        cohort_id,
        relationship_id,
        kind,
        reason,
        at,
        m2e,
        e2m,
        rating,
    )


async def week(conn: Conn, cohort_id: str, start: datetime, end: datetime) -> HealthFigures:
    """The cohort's health over [start, end), and the pairs at risk at its end."""
    r = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE kind = 'held') AS held,
                  count(DISTINCT relationship_id) FILTER (WHERE kind = 'held') AS pairs_meeting,
                  coalesce(sum(m2e) FILTER (WHERE kind = 'held'), 0) AS m2e,
                  coalesce(sum(e2m) FILTER (WHERE kind = 'held'), 0) AS e2m,
                  avg(rating) FILTER (WHERE kind = 'pulse') AS pulse_avg,
                  count(*) FILTER (WHERE kind = 'pulse') AS pulses,
                  count(*) FILTER (WHERE kind = 'at_risk') AS new_risks,
                  count(*) FILTER (WHERE kind = 'closed') AS closed
           FROM health_facts WHERE cohort_id = $1 AND at >= $2 AND at < $3""",
        cohort_id,
        start,
        end,
    )
    assert r is not None  # an aggregate without GROUP BY always returns one row
    # At risk at the end of the week: the last risk signal per (pair, reason) up to then is a start,
    # and the pair has not closed by then.
    at_risk = await conn.fetchval(
        """SELECT count(DISTINCT relationship_id) FROM (
               SELECT DISTINCT ON (relationship_id, reason) relationship_id, kind
                 FROM health_facts
                WHERE cohort_id = $1 AND kind IN ('at_risk', 'resolved') AND at < $2
                ORDER BY relationship_id, reason, at DESC, kind) last
            WHERE kind = 'at_risk'
              AND NOT EXISTS (SELECT 1 FROM health_facts c WHERE c.cohort_id = $1 AND c.kind = 'closed'
                               AND c.relationship_id = last.relationship_id AND c.at < $2)""",
        cohort_id,
        end,
    )
    return HealthFigures(
        sessions_held=r["held"],
        pairs_meeting=r["pairs_meeting"],
        topics_m2e=r["m2e"],
        topics_e2m=r["e2m"],
        pulse_average=float(r["pulse_avg"]) if r["pulse_avg"] is not None else None,
        pulses=r["pulses"],
        new_risks=r["new_risks"],
        at_risk_pairs=at_risk,
        closed=r["closed"],
    )


async def delete_older_than(conn: Conn, before: datetime, limit: int) -> int:
    result: str = await conn.execute(
        """DELETE FROM health_facts
            WHERE event_id IN (SELECT event_id FROM health_facts WHERE at < $1 LIMIT $2)""",
        before,
        limit,
    )
    return int(result.split()[-1])
