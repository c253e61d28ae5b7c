"""Migration 0006 on a schema that already holds health signals: each ending_soon row keeps the end
date it announced (read from its detail, else the relationship's end date), and the unique rows then
allow one ending_soon per end date, one mid-point survey per relationship and one open row per risk."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import asyncpg
import pytest

from bridge_shared.db.migrations import load_migrations

pytestmark = pytest.mark.integration
AT = datetime(2025, 8, 18, 1, tzinfo=UTC)


async def _relationship(conn: asyncpg.Connection, planned_end: date) -> uuid.UUID:
    rid = uuid.uuid4()
    await conn.execute(
        """INSERT INTO relationships (id, pair_id, cohort_id, mentor_id, mentor_employee_id, mentor_name,
                  mentor_timezone, mentee_id, mentee_employee_id, mentee_name, mentee_timezone, region,
                  status, planned_end, started_at)
           VALUES ($1, $2, 'c', 'P-M', 'E-M', 'M', 'UTC', 'P-L', 'E-L', 'L', 'UTC', 'emea', 'active', $3, $4)""",
        rid,
        f"pair-{rid}",
        planned_end,
        AT,
    )
    return rid


async def _signal(conn: asyncpg.Connection, rid: uuid.UUID, reason: str, detail: str, **more: object) -> bool:
    columns = ", ".join(["relationship_id", "reason", "detail", "detected_at", *more])
    values = ", ".join(f"${i}" for i in range(1, 5 + len(more)))
    inserted = await conn.fetchval(
        f"INSERT INTO health_signals ({columns}) VALUES ({values}) ON CONFLICT DO NOTHING RETURNING id",
        rid,
        reason,
        detail,
        AT,
        *more.values(),
    )
    return inserted is not None


async def test_0006_keeps_the_announced_end_date_and_allows_one_ending_soon_per_end_date(
    admin_dsn: str,
) -> None:
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    migrations = load_migrations("bridge_sessions.db.migrations")
    before, m0006 = [m for m in migrations if m.version < 6], next(m for m in migrations if m.version == 6)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(f"SET search_path TO {schema}")
        for m in before:
            async with conn.transaction():
                await conn.execute(m.sql)
        moved = await _relationship(conn, date(2025, 11, 3))  # announced 2025-09-01, then amended
        scrubbed = await _relationship(conn, date(2025, 9, 30))
        assert await _signal(conn, moved, "ending_soon", "ends on 2025-09-01 (14 days left)")
        assert await _signal(conn, scrubbed, "ending_soon", "[erased]")
        assert await _signal(conn, moved, "inactive", "21 days since the pair was formed")

        async with conn.transaction():
            await conn.execute(m0006.sql)

        rows = await conn.fetch("SELECT relationship_id, reason, end_date FROM health_signals ORDER BY id")
        assert [(r["relationship_id"], r["reason"], r["end_date"]) for r in rows] == [
            (moved, "ending_soon", date(2025, 9, 1)),
            (scrubbed, "ending_soon", date(2025, 9, 30)),
            (moved, "inactive", None),
        ]
        assert not await _signal(conn, moved, "ending_soon", "again", end_date=date(2025, 9, 1))
        assert await _signal(conn, moved, "ending_soon", "ends on 2025-11-03", end_date=date(2025, 11, 3))
        assert not await _signal(conn, moved, "ending_soon", "twice", end_date=date(2025, 11, 3))
        assert await _signal(conn, moved, "midpoint_survey", "open")
        assert not await _signal(conn, moved, "midpoint_survey", "open again")
        assert not await _signal(conn, moved, "inactive", "still open"), "one open row per risk"
        with pytest.raises(asyncpg.CheckViolationError):
            await _signal(conn, scrubbed, "ending_soon", "no date")
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()
