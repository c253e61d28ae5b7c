"""circle_health_signals (one open row per circle and reason) and the figures the circle health
assessment reads, for every open circle in one statement."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from bridge_sessions.db import Conn
from bridge_sessions.domain.circle_rows import (
    AttendanceRow,
    CircleHealthStatsRow,
    CircleRisk,
    CircleSignalRow,
)

_HELD = """SELECT s.id FROM circle_sessions s
            WHERE s.circle_id = c.id AND s.status = 'held' AND s.held_at <= $1
            ORDER BY s.held_at DESC LIMIT {limit}"""

_STATS = f"""
SELECT c.id AS circle_id, c.cohort_id, c.started_at, co.inactivity_threshold_days AS cohort_threshold,
       coalesce(a.end_date, c.planned_end) AS end_date,
       (SELECT count(*) FROM circle_members m WHERE m.circle_id = c.id AND m.erased_at IS NULL) AS members,
       (SELECT max(s.held_at) FROM circle_sessions s
         WHERE s.circle_id = c.id AND s.status = 'held' AND s.held_at <= $1) AS last_held_at,
       (SELECT coalesce(jsonb_agg(jsonb_build_array(x.present, x.total) ORDER BY x.held_at DESC), '[]')
          FROM (SELECT s.held_at,
                       (SELECT count(*) FROM circle_attendance t
                         WHERE t.session_id = s.id AND t.present) AS present,
                       (SELECT count(*) FROM circle_attendance t WHERE t.session_id = s.id) AS total
                  FROM circle_sessions s
                 WHERE s.circle_id = c.id AND s.status = 'held' AND s.held_at <= $1
                 ORDER BY s.held_at DESC LIMIT $2) x) AS recent_attendance,
       (SELECT coalesce(array_agg(y.pid ORDER BY y.pid), '{{}}') FROM (
            SELECT i.participant_id AS pid FROM circle_ideas i
             WHERE i.session_id IN ({_HELD.format(limit="$3")})
            UNION ALL
            SELECT l.from_id FROM circle_learning l
             WHERE l.session_id IN ({_HELD.format(limit="$3")})
        ) y) AS recent_contributors
FROM circles c
LEFT JOIN cohorts co ON co.cohort_id = c.cohort_id
LEFT JOIN circle_agreements a ON a.circle_id = c.id AND a.status = 'active'
WHERE (c.status <> 'closed' OR $5) AND ($4::text IS NULL OR c.id = $4)
ORDER BY c.id
"""


async def stats(
    conn: Conn,
    now: datetime,
    attendance_window: int,
    dominance_window: int,
    only: str | None,
    *,
    closed_too: bool = False,
) -> list[CircleHealthStatsRow]:
    """Every open circle (or just `only`; `closed_too` for a closed one's report) with its held
    sessions up to `now`: the attendance of the last `attendance_window`, who contributed over the
    last `dominance_window`, its end date and its cohort's inactivity threshold."""
    rows = await conn.fetch(_STATS, now, attendance_window, dominance_window, only, closed_too)
    return [
        CircleHealthStatsRow(
            circle_id=r["circle_id"],
            cohort_id=r["cohort_id"],
            started_at=r["started_at"],
            members=r["members"],
            cohort_threshold=r["cohort_threshold"],
            end_date=r["end_date"],
            last_held_at=r["last_held_at"],
            recent_attendance=[AttendanceRow(present, total) for present, total in r["recent_attendance"]],
            recent_contributors=list(r["recent_contributors"]),
        )
        for r in rows
    ]


async def open_risks(conn: Conn, only: str | None) -> set[tuple[str, str]]:
    """(circle, reason) of every open risk (of every circle, or just `only`)."""
    rows = await conn.fetch(
        "SELECT circle_id, reason FROM circle_health_signals "
        "WHERE resolved_at IS NULL AND ($1::text IS NULL OR circle_id = $1)",
        only,
    )
    return {(r["circle_id"], r["reason"]) for r in rows}


async def open_signal(
    conn: Conn, circle_id: str, reason: str, detail: str, now: datetime, escalate_at: datetime
) -> bool:
    """False when it is open already: the unique open row decides (migration 0008)."""
    inserted = await conn.fetchval(
        """INSERT INTO circle_health_signals (circle_id, reason, detail, detected_at, escalate_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id""",
        circle_id,
        reason,
        detail,
        now,
        escalate_at,
    )
    return inserted is not None


async def resolve(conn: Conn, circle_id: str, reason: str, now: datetime) -> bool:
    done = await conn.fetchval(
        """UPDATE circle_health_signals SET resolved_at = $3
           WHERE circle_id = $1 AND reason = $2 AND resolved_at IS NULL RETURNING id""",
        circle_id,
        reason,
        now,
    )
    return done is not None


async def resolve_open_risks(conn: Conn, circle_id: str, now: datetime) -> list[CircleRisk]:
    """Resolves every open risk of the circle; returns their reasons."""
    rows = await conn.fetch(
        """UPDATE circle_health_signals SET resolved_at = $2
           WHERE circle_id = $1 AND resolved_at IS NULL RETURNING reason""",
        circle_id,
        now,
    )
    return sorted(cast(CircleRisk, r["reason"]) for r in rows)  # the table's check constraint


async def for_circle(conn: Conn, circle_id: str) -> list[CircleSignalRow]:
    rows = await conn.fetch(
        "SELECT * FROM circle_health_signals WHERE circle_id = $1 ORDER BY detected_at, id", circle_id
    )
    return [CircleSignalRow(**r) for r in rows]
