"""Cohorts as sessions needs them: cohort.created -> the cohort's inactivity threshold."""

from __future__ import annotations

from bridge_sessions.db import Conn
from bridge_sessions.db import cohorts as cohorts_db
from bridge_shared.contracts.matching import CohortCreatedV1


async def record(conn: Conn, p: CohortCreatedV1) -> None:
    """In the consumer's transaction; the latest cohort.created wins."""
    await cohorts_db.upsert(
        conn,
        cohort_id=p.cohort_id,
        name=p.name,
        regions=list(p.regions),
        inactivity_threshold_days=p.inactivity_threshold_days,
        programme_end=p.programme_end,
    )
