"""Cohort summaries: a cohort's header and the overview of that cohort (the same figures, by the
same code, as /reports/overview?cohort_id=<id>)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from bridge_reporting.api.deps import get_runtime
from bridge_reporting.api.models import CohortSummary, FunnelStage, Kpis
from bridge_reporting.app import cohorts
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
    s = await cohorts.summary(rt.pool, principal, cohort_id)
    kpis = Kpis(**s.overview.kpis)
    return CohortSummary(
        cohort_id=s.cohort_id,
        name=s.name,
        regions=s.regions,
        kpis=kpis,
        funnel=[FunnelStage(stage=stage, count=n) for stage, n in s.overview.funnel],
        participants=kpis.enrolled,
        mentors=kpis.mentors,
        mentees=kpis.mentees,
        pairs_active=kpis.pairs_active,
        matched_participants=kpis.matched,
        match_rate=kpis.match_rate,
    )
