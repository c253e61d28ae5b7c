"""Cohort summaries."""

from __future__ import annotations

import asyncpg
from pydantic import BaseModel, ConfigDict

from bridge_reporting.app.read import read
from bridge_reporting.db import cohorts
from bridge_shared.auth import scope
from bridge_shared.auth.principal import Principal
from bridge_shared.errors import Problem


class CohortSummary(BaseModel):
    # A cohort's headcount and pairs, as /cohorts/{id}/summary publishes it (no docstring: it
    # would change the OpenAPI document).
    model_config = ConfigDict(frozen=True)

    cohort_id: str
    name: str
    regions: list[str]
    participants: int
    mentors: int
    mentees: int
    pairs_active: int
    matched_participants: int
    match_rate: float


async def summary(pool: asyncpg.Pool, principal: Principal, cohort_id: str) -> CohortSummary:
    async with read(pool) as conn:
        cohort = await cohorts.cohort(conn, cohort_id)
        if cohort is None or cohort.name is None or not scope.sees_shared(principal, cohort.regions or []):
            raise Problem(404, "Cohort not found")
        # Rule 5: a regional HR's counts cover their regions only.
        regions = scope.region_filter(principal)
        counts = await cohorts.counts(conn, cohort_id, None if regions is None else list(regions))
    pairs = counts.pairs_active
    return CohortSummary(
        cohort_id=cohort_id,
        name=cohort.name,
        regions=cohort.regions or [],
        participants=counts.participants,
        mentors=counts.mentors,
        mentees=counts.mentees,
        pairs_active=pairs,
        matched_participants=2 * pairs if regions is None else counts.matched,
        match_rate=(
            round((2 * pairs if regions is None else counts.matched) / counts.participants, 4)
            if counts.participants
            else 0.0
        ),
    )
