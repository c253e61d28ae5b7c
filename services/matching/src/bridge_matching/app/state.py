"""Reads the snapshot of a cohort the engine works on (domain.matching.CohortState), and holds the
runtime's cache of prepared cohorts for suggestions."""

from __future__ import annotations

from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.db import occupancy, participants
from bridge_matching.db.records import Conn
from bridge_matching.domain.engine import SuggestionCache
from bridge_matching.domain.matching import CohortState, cohort_state
from bridge_matching.domain.rows import CohortRow

SUGGESTION_CACHE = "suggestion_cache"


async def load_state(conn: Conn, cohort: CohortRow) -> CohortState:
    return cohort_state(
        cohort,
        await participants.enrolled(conn, cohort.id),
        await occupancy.occupied(conn, cohort.id),
        await occupancy.excluded(conn, cohort.id),
        await occupancy.history(conn, cohort.id),
    )


def suggestion_cache(rt: MatchingRuntime) -> SuggestionCache:
    """This runtime's cache of prepared cohorts for suggestions (made on first use; one per app, so
    tests with their own app never share one)."""
    rt.extras.setdefault(SUGGESTION_CACHE, SuggestionCache())
    return rt.component(SUGGESTION_CACHE, SuggestionCache)
