"""Cohort summaries from the read models."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from bridge_shared.auth.dependencies import HR_ROLES, require
from bridge_shared.auth.principal import Principal
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime

router = APIRouter(prefix="/cohorts", tags=["cohorts"])


class CohortSummary(BaseModel):
    cohort_id: str
    name: str
    regions: list[str]
    participants: int
    mentors: int
    mentees: int
    pairs_active: int
    matched_participants: int
    match_rate: float


@router.get("/{cohort_id}/summary", response_model=CohortSummary)
async def cohort_summary(
    cohort_id: str, principal: Principal = Depends(require(*HR_ROLES)), rt: Runtime = Depends(get_runtime)
) -> CohortSummary:
    async with rt.pool.acquire() as conn:
        cohort = await conn.fetchrow("SELECT * FROM rm_cohorts WHERE cohort_id = $1", cohort_id)
        if cohort is None or cohort["name"] is None or not principal.can_see_any_region(cohort["regions"]):
            raise Problem(404, "Cohort not found")
        counts = await conn.fetchrow(
            """SELECT count(*) FILTER (WHERE withdrawn_at IS NULL) AS participants,
                      count(*) FILTER (WHERE withdrawn_at IS NULL AND role = 'mentor') AS mentors,
                      count(*) FILTER (WHERE withdrawn_at IS NULL AND role = 'mentee') AS mentees
               FROM rm_participants WHERE cohort_id = $1 AND enrolled_at IS NOT NULL""",
            cohort_id,
        )
        pairs = await conn.fetchval(
            """SELECT count(*) FROM rm_pairs WHERE cohort_id = $1 AND formed_at IS NOT NULL
               AND closed_at IS NULL AND dissolved_at IS NULL""",
            cohort_id,
        )
    assert counts is not None
    participants = counts["participants"]
    return CohortSummary(
        cohort_id=cohort_id,
        name=cohort["name"],
        regions=cohort["regions"],
        participants=participants,
        mentors=counts["mentors"],
        mentees=counts["mentees"],
        pairs_active=pairs,
        matched_participants=2 * pairs,
        match_rate=round(2 * pairs / participants, 4) if participants else 0.0,
    )
