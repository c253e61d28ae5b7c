"""Pairs, HR overrides (create by hand, dissolve) with a mandatory reason, and the audit log."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from bridge_matching.api.deps import get_runtime, hr_read, hr_write
from bridge_matching.api.schemas import AuditOut, DissolveIn, OverridePairIn, PairOut, from_row
from bridge_matching.app import pairs
from bridge_matching.app.runtime import MatchingRuntime
from bridge_shared.auth.principal import Principal
from bridge_shared.http.openapi import problems

router = APIRouter(tags=["pairs"])


@router.get("/cohorts/{cohort_id}/pairs", response_model=list[PairOut], responses=problems(404))
async def list_pairs(
    cohort_id: UUID,
    status_: str | None = Query("formed", alias="status", max_length=32),
    principal: Principal = Depends(hr_read),
    rt: MatchingRuntime = Depends(get_runtime),
) -> list[PairOut]:
    return [from_row(PairOut, r) for r in await pairs.list_for_cohort(rt, principal, cohort_id, status_)]


@router.post(
    "/cohorts/{cohort_id}/pairs",
    status_code=status.HTTP_201_CREATED,
    response_model=PairOut,
    responses=problems(404, 409),
)
async def create_pair(
    cohort_id: UUID,
    body: OverridePairIn,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> PairOut:
    """HR override: forms a pair directly (no proposal). Hard-constraint breaches are allowed but audited;
    double-booking (capacity) is refused."""
    pair = await pairs.create_override(rt, principal, cohort_id, body.mentor_id, body.mentee_id, body.reason)
    return from_row(PairOut, pair)


@router.get("/cohorts/{cohort_id}/pairs/{pair_id}", response_model=PairOut, responses=problems(404))
async def get_pair(
    cohort_id: UUID,
    pair_id: UUID,
    principal: Principal = Depends(hr_read),
    rt: MatchingRuntime = Depends(get_runtime),
) -> PairOut:
    """One pair of the cohort, in any status (formed or dissolved); 404 outside the caller's scope."""
    return from_row(PairOut, await pairs.get_one(rt, principal, cohort_id, pair_id))


@router.post(
    "/cohorts/{cohort_id}/pairs/{pair_id}/dissolve", response_model=PairOut, responses=problems(404, 409)
)
async def dissolve_pair(
    cohort_id: UUID,
    pair_id: UUID,
    body: DissolveIn,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> PairOut:
    """HR override: breaks a formed pair (pair.dissolved); both are free for rematch, never re-paired."""
    return from_row(PairOut, await pairs.dissolve(rt, principal, cohort_id, pair_id, body.reason))


@router.get("/cohorts/{cohort_id}/audit", response_model=list[AuditOut], responses=problems(404))
async def audit_log(
    cohort_id: UUID, principal: Principal = Depends(hr_read), rt: MatchingRuntime = Depends(get_runtime)
) -> list[AuditOut]:
    return [from_row(AuditOut, r) for r in await pairs.audit_log(rt, principal, cohort_id)]
