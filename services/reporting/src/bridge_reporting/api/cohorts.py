"""Cohort summaries from the read models."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from bridge_reporting.api.deps import get_runtime
from bridge_reporting.app import cohorts
from bridge_reporting.settings import ReportingSettings
from bridge_shared.auth.dependencies import HR_ROLES, require
from bridge_shared.auth.principal import Principal
from bridge_shared.runtime import Runtime

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
    cohort_id: str,
    principal: Principal = Depends(require(*HR_ROLES)),
    rt: Runtime[ReportingSettings] = Depends(get_runtime),
) -> CohortSummary:
    return CohortSummary(**asdict(await cohorts.summary(rt.pool, principal, cohort_id)))
