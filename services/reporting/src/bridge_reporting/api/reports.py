"""Programme analytics for HR: overview, breakdowns, weekly series, at-risk and flagged pairs,
timelines.

Every endpoint takes the same filters (cohort_id, region, from, to) and applies the caller's
regional scope: hr_regional tokens see only rows attributed to their regions, everywhere.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query

from bridge_reporting.api.deps import filters, get_runtime
from bridge_reporting.api.models import (
    AtRiskPair,
    Breakdown,
    BreakdownRow,
    FlaggedPair,
    FunnelStage,
    Kpis,
    Overview,
    Timeline,
    TimelineEntry,
    Weekly,
    filters_of,
)
from bridge_reporting.app import reports
from bridge_reporting.domain.scope import Scope
from bridge_reporting.settings import ReportingSettings
from bridge_shared.auth.dependencies import HR_ROLES, require
from bridge_shared.auth.principal import Principal
from bridge_shared.http.openapi import problems
from bridge_shared.http.params import PathIdentifier
from bridge_shared.runtime import Runtime

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/overview", response_model=Overview)
async def overview(
    scope: Scope = Depends(filters), rt: Runtime[ReportingSettings] = Depends(get_runtime)
) -> Overview:
    result = await reports.overview(rt.pool, scope)
    return Overview(
        filters=filters_of(scope),
        cohort_name=result.cohort_name,
        kpis=Kpis(**result.kpis),
        funnel=[FunnelStage(stage=stage, count=n) for stage, n in result.funnel],
    )


@router.get("/breakdown", response_model=Breakdown)
async def breakdown(
    by: Literal["region", "department", "band", "cohort"] = Query("region"),
    scope: Scope = Depends(filters),
    rt: Runtime[ReportingSettings] = Depends(get_runtime),
) -> Breakdown:
    groups = await reports.breakdown(rt.pool, scope, by)
    return Breakdown(
        filters=filters_of(scope),
        by=by,
        rows=[BreakdownRow(group=g.group, label=g.label, **g.figures) for g in groups],
    )


@router.get("/weekly", response_model=Weekly)
async def weekly(
    scope: Scope = Depends(filters), rt: Runtime[ReportingSettings] = Depends(get_runtime)
) -> Weekly:
    weeks = await reports.weekly_series(rt.pool, scope)
    return Weekly(filters=filters_of(scope), weeks=weeks)


@router.get("/at-risk-pairs", response_model=list[AtRiskPair])
async def at_risk_pairs(
    scope: Scope = Depends(filters),
    limit: int = Query(500, ge=1, le=5000),
    rt: Runtime[ReportingSettings] = Depends(get_runtime),
) -> list[AtRiskPair]:
    return await reports.at_risk_pairs(rt.pool, scope, limit)


@router.get("/flagged-pairs", response_model=list[FlaggedPair])
async def flagged_pairs(
    scope: Scope = Depends(filters),
    limit: int = Query(500, ge=1, le=5000),
    rt: Runtime[ReportingSettings] = Depends(get_runtime),
) -> list[FlaggedPair]:
    """Active pairs matching flagged after a person moved (they now break the management-chain rule),
    newest flag first, with names beside ids: for HR to keep or dissolve each."""
    return await reports.flagged_pairs(rt.pool, scope, limit)


@router.get("/pairs/{pair_id}/timeline", response_model=Timeline, responses=problems(404))
async def pair_timeline(
    pair_id: PathIdentifier,
    principal: Principal = Depends(require(*HR_ROLES)),
    rt: Runtime[ReportingSettings] = Depends(get_runtime),
) -> Timeline:
    tl = await reports.pair_timeline(rt.pool, principal, pair_id)
    return Timeline(
        pair_id=tl.pair_id,
        cohort_id=tl.cohort_id,
        cohort_name=tl.cohort_name,
        region=tl.region,
        mentor_name=tl.mentor_name,
        mentee_name=tl.mentee_name,
        status=tl.status,
        events=[
            TimelineEntry(
                event_id=e.event_id,
                occurred_at=e.occurred_at,
                type=e.event_type,
                summary=e.summary,
                detail=e.detail,
            )
            for e in tl.events
        ],
    )
