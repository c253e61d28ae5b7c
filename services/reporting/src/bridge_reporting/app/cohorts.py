"""Cohort summaries: a cohort's header and the overview of that cohort.

The figures are not counted here: they are /reports/overview's, computed by the same code
(app.reports.overview_in) for the scope `cohort_id=<id>` in the caller's regions, so a cohort's
summary and its overview cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from bridge_reporting.app.access import scope_for
from bridge_reporting.app.read import read
from bridge_reporting.app.reports import Overview, overview_in
from bridge_reporting.db import cohorts
from bridge_shared.auth import scope
from bridge_shared.auth.principal import Principal
from bridge_shared.errors import Problem


@dataclass(frozen=True, slots=True)
class CohortSummary:
    cohort_id: str
    name: str
    regions: list[str]
    overview: Overview  # /reports/overview?cohort_id=<cohort_id> in the caller's scope


async def summary(pool: asyncpg.Pool, principal: Principal, cohort_id: str) -> CohortSummary:
    # Rule 4: the cohort is visible when one of its regions is in scope; rule 5: a regional HR's
    # figures cover their regions only (the overview's scope for them, without filters).
    in_scope = scope_for(principal, cohort_id, None, None, None)
    async with read(pool) as conn:
        cohort = await cohorts.cohort(conn, cohort_id)
        if cohort is None or cohort.name is None or not scope.sees_shared(principal, cohort.regions or []):
            raise Problem(404, "Cohort not found")
        overview = await overview_in(conn, in_scope)
    return CohortSummary(cohort_id, cohort.name, cohort.regions or [], overview)
