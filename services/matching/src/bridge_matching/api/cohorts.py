"""Cohorts: creation, life-cycle phases and the matching policy."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, status

from bridge_matching.api.deps import get_runtime, hr_read, hr_write
from bridge_matching.api.schemas import CohortIn, CohortOut, PhaseChangeIn, from_row
from bridge_matching.app import cohorts
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.domain.policy import PolicyIn
from bridge_shared.auth.principal import Principal
from bridge_shared.http.openapi import problems

router = APIRouter(prefix="/cohorts", tags=["cohorts"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CohortOut)
async def create_cohort(
    body: CohortIn, principal: Principal = Depends(hr_write), rt: MatchingRuntime = Depends(get_runtime)
) -> CohortOut:
    return from_row(CohortOut, await cohorts.create(rt, principal, body))


@router.get("", response_model=list[CohortOut])
async def list_cohorts(
    principal: Principal = Depends(hr_read), rt: MatchingRuntime = Depends(get_runtime)
) -> list[CohortOut]:
    return [from_row(CohortOut, r) for r in await cohorts.list_visible(rt, principal)]


@router.get("/{cohort_id}", response_model=CohortOut, responses=problems(404))
async def get_cohort(
    cohort_id: UUID, principal: Principal = Depends(hr_read), rt: MatchingRuntime = Depends(get_runtime)
) -> CohortOut:
    return from_row(CohortOut, await cohorts.get(rt, principal, cohort_id))


@router.post("/{cohort_id}/phase", response_model=CohortOut, responses=problems(404, 409))
async def change_phase(
    cohort_id: UUID,
    body: PhaseChangeIn,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> CohortOut:
    """Moves the cohort one step along draft -> enrolling -> matching -> active -> closing -> closed."""
    return from_row(CohortOut, await cohorts.change_phase(rt, principal, cohort_id, body.to_phase))


@router.get("/{cohort_id}/policy", response_model=PolicyIn, responses=problems(404))
async def get_policy(
    cohort_id: UUID, principal: Principal = Depends(hr_read), rt: MatchingRuntime = Depends(get_runtime)
) -> PolicyIn:
    return await cohorts.get_policy(rt, principal, cohort_id)


@router.put("/{cohort_id}/policy", response_model=PolicyIn, responses=problems(404, 409))
async def put_policy(
    cohort_id: UUID,
    body: PolicyIn,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> PolicyIn:
    return await cohorts.put_policy(rt, principal, cohort_id, body)
