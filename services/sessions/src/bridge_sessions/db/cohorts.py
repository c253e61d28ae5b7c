"""cohorts: what sessions learns from matching's cohort.created (the inactivity threshold)."""

from __future__ import annotations

from datetime import date

from bridge_sessions.db import Conn


async def upsert(
    conn: Conn,
    *,
    cohort_id: str,
    name: str,
    regions: list[str],
    inactivity_threshold_days: int,
    programme_end: date | None,
) -> None:
    await conn.execute(
        """INSERT INTO cohorts (cohort_id, name, regions, inactivity_threshold_days, programme_end)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (cohort_id) DO UPDATE SET name = EXCLUDED.name, regions = EXCLUDED.regions,
               inactivity_threshold_days = EXCLUDED.inactivity_threshold_days,
               programme_end = EXCLUDED.programme_end, updated_at = now()""",
        cohort_id,
        name,
        regions,
        inactivity_threshold_days,
        programme_end,
    )
