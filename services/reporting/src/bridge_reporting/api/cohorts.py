"""Cohort summaries from the read models."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from bridge_reporting.api.deps import get_runtime
from bridge_reporting.app import cohorts
from bridge_reporting.app.cohorts import CohortSummary
from bridge_reporting.settings import ReportingSettings
from bridge_shared.auth.dependencies import HR_ROLES, require
from bridge_shared.auth.principal import Principal
from bridge_shared.http.openapi import problems
from bridge_shared.http.params import PathIdentifier
from bridge_shared.runtime import Runtime

router = APIRouter(prefix="/cohorts", tags=["cohorts"])


@router.get("/{cohort_id}/summary", response_model=CohortSummary, responses=problems(404))
async def cohort_summary(
    cohort_id: PathIdentifier,
    principal: Principal = Depends(require(*HR_ROLES)),
    rt: Runtime[ReportingSettings] = Depends(get_runtime),
) -> CohortSummary:
    return await cohorts.summary(rt.pool, principal, cohort_id)
