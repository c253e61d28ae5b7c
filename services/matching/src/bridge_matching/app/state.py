"""Reads the snapshot of a cohort the engine works on (domain.matching.CohortState)."""

from __future__ import annotations

from bridge_matching.db import occupancy, participants
from bridge_matching.db.records import Conn
from bridge_matching.domain.matching import CohortState, cohort_state
from bridge_matching.domain.rows import CohortRow


async def load_state(conn: Conn, cohort: CohortRow) -> CohortState:
    return cohort_state(
        cohort,
        await participants.enrolled(conn, cohort.id),
        await occupancy.occupied(conn, cohort.id),
        await occupancy.excluded(conn, cohort.id),
        await occupancy.history(conn, cohort.id),
    )
