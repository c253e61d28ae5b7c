"""Programme analytics for HR: overview, breakdowns, weekly series, at-risk pairs, timelines, exports.

Every endpoint takes the same filters (cohort_id, region, from, to) and applies the caller's
regional scope: hr_regional tokens see only rows attributed to their regions, everywhere.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any, Literal

import xlsxwriter
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from bridge_reporting.db import queries
from bridge_reporting.db.queries import Scope
from bridge_shared.auth.dependencies import HR_ROLES, require
from bridge_shared.auth.principal import Principal
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime

router = APIRouter(prefix="/reports", tags=["reports"])


class Kpis(BaseModel):
    enrolled: int = Field(description="participants enrolled (withdrawn ones included)")
    withdrawn: int
    mentors: int
    mentees: int
    proposed: int = Field(description="enrolled participants who were in a proposal or a pair")
    matched: int = Field(description="enrolled participants who are (or were) in a pair")
    met: int = Field(description="enrolled participants in a pair that has held a session")
    match_rate: float | None = Field(description="matched / enrolled")
    pairs_formed: int
    pairs_active: int = Field(description="formed, not closed or dissolved (at-risk ones included)")
    pairs_at_risk: int = Field(description="active pairs with at least one open risk signal")
    pairs_closed: int = Field(description="closed by sessions or dissolved by matching")
    relationships_started: int
    agreements_confirmed: int
    agreement_confirmation_rate: float | None = Field(
        description="started relationships with a confirmed agreement / started relationships"
    )
    sessions_held: int
    median_days_between_sessions: float | None = Field(
        description="median gap between consecutive held sessions of the same pair"
    )
    topics_mentor_to_mentee: int
    topics_mentee_to_mentor: int
    balance_index: float | None = Field(
        description="2 * min(a, b) / (a + b) over held sessions' topics; 1 = perfectly two-way"
    )
    goals_set: int
    goals_achieved: int
    goals_abandoned: int
    goal_completion_rate: float | None = Field(description="goals achieved / goals set")
    feedback_responses: int
    rating_responses: int
    average_rating: float | None = Field(description="mean 1-5 rating over feedback with a rating")
    nps_responses: int
    promoters: int
    detractors: int
    nps: float | None = Field(description="100 * (promoters 9-10 - detractors 0-6) / responses")
    notifications_sent: int
    notifications_failed: int = Field(description="notifications whose last outcome is a failure")
    notifications_failed_permanent: int


class FunnelStage(BaseModel):
    stage: str
    count: int


class Filters(BaseModel):
    cohort_id: str | None
    regions: list[str] | None = Field(description="regions in scope; null = all regions")
    date_from: date | None
    date_to: date | None


class Overview(BaseModel):
    filters: Filters
    kpis: Kpis
    funnel: list[FunnelStage]


class BreakdownRow(Kpis):
    group: str


class Breakdown(BaseModel):
    filters: Filters
    by: str
    rows: list[BreakdownRow]


class WeekRow(BaseModel):
    week: date = Field(description="Monday (UTC) the ISO week starts on")
    enrolled: int
    enrolled_total: int
    matched_total: int
    match_rate: float | None
    pairs_formed: int
    pairs_closed: int
    pairs_active_at_week_end: int
    at_risk_signals: int
    agreements_confirmed: int
    sessions_held: int
    median_days_between_sessions: float | None
    balance_index: float | None
    goals_set: int
    goals_achieved: int
    feedback_responses: int
    average_rating: float | None
    nps: float | None
    notifications_failed: int


class Weekly(BaseModel):
    filters: Filters
    weeks: list[WeekRow]


class Risk(BaseModel):
    reason: str
    detail: str | None
    since: datetime


class AtRiskPair(BaseModel):
    pair_id: str
    cohort_id: str
    relationship_id: str | None
    region: str | None
    department: str | None
    band: str | None
    mentor_name: str | None
    mentee_name: str | None
    formed_at: datetime | None
    reasons: list[str]
    risks: list[Risk]
    last_session_at: datetime | None
    sessions_held: int


class TimelineEntry(BaseModel):
    event_id: str
    occurred_at: datetime
    type: str
    summary: str
    detail: dict[str, Any]


class Timeline(BaseModel):
    pair_id: str
    cohort_id: str
    region: str | None
    mentor_name: str | None
    mentee_name: str | None
    status: str
    events: list[TimelineEntry]


def scope_for(
    principal: Principal,
    cohort_id: str | None,
    region: list[str] | None,
    date_from: date | None,
    date_to: date | None,
) -> Scope:
    if date_from and date_to and date_from > date_to:
        raise Problem(422, "Invalid date range", "`from` must not be after `to`.")
    if principal.is_global_hr:
        regions = tuple(sorted(set(region))) if region else None
    else:
        mine = set(principal.regions)
        if region:
            hidden = sorted(set(region) - mine)
            if hidden:
                raise Problem(403, "Forbidden", f"Your token does not cover region(s): {', '.join(hidden)}.")
            regions = tuple(sorted(set(region)))
        else:
            regions = tuple(sorted(mine))
    return Scope(cohort_id=cohort_id, regions=regions, date_from=date_from, date_to=date_to)


def filters(
    principal: Principal = Depends(require(*HR_ROLES)),
    cohort_id: str | None = Query(None, max_length=128),
    region: list[str] | None = Query(None, description="repeat for several regions"),
    date_from: date | None = Query(None, alias="from", description="inclusive, UTC"),
    date_to: date | None = Query(None, alias="to", description="inclusive, UTC"),
) -> Scope:
    return scope_for(principal, cohort_id, region, date_from, date_to)


def _filters(scope: Scope) -> Filters:
    return Filters(
        cohort_id=scope.cohort_id,
        regions=list(scope.regions) if scope.regions is not None else None,
        date_from=scope.date_from,
        date_to=scope.date_to,
    )


@router.get("/overview", response_model=Overview)
async def overview(scope: Scope = Depends(filters), rt: Runtime = Depends(get_runtime)) -> Overview:
    async with rt.pool.acquire() as conn:
        k = (await queries.figures(conn, scope))["all"]
    return Overview(
        filters=_filters(scope), kpis=Kpis(**k), funnel=[FunnelStage(**s) for s in queries.funnel(k)]
    )


@router.get("/breakdown", response_model=Breakdown)
async def breakdown(
    by: Literal["region", "department", "band", "cohort"] = Query("region"),
    scope: Scope = Depends(filters),
    rt: Runtime = Depends(get_runtime),
) -> Breakdown:
    async with rt.pool.acquire() as conn:
        groups = await queries.figures(conn, scope, by)
    return Breakdown(
        filters=_filters(scope), by=by, rows=[BreakdownRow(group=g, **k) for g, k in groups.items()]
    )


@router.get("/weekly", response_model=Weekly)
async def weekly(scope: Scope = Depends(filters), rt: Runtime = Depends(get_runtime)) -> Weekly:
    async with rt.pool.acquire() as conn:
        rows = await queries.weekly(conn, scope)
    return Weekly(filters=_filters(scope), weeks=[WeekRow(**r) for r in rows])


@router.get("/at-risk-pairs", response_model=list[AtRiskPair])
async def at_risk_pairs(
    scope: Scope = Depends(filters),
    limit: int = Query(500, ge=1, le=5000),
    rt: Runtime = Depends(get_runtime),
) -> list[AtRiskPair]:
    async with rt.pool.acquire() as conn:
        rows = await queries.at_risk_pairs(conn, scope, limit)
    return [AtRiskPair(**dict(r)) for r in rows]


@router.get("/pairs/{pair_id}/timeline", response_model=Timeline)
async def pair_timeline(
    pair_id: str,
    principal: Principal = Depends(require(*HR_ROLES)),
    rt: Runtime = Depends(get_runtime),
) -> Timeline:
    async with rt.pool.acquire() as conn:
        pair = await conn.fetchrow("SELECT * FROM rm_pairs WHERE pair_id = $1", pair_id)
        if pair is None or not (
            principal.is_global_hr
            or (pair["region"] is not None and principal.can_see_region(pair["region"]))
        ):
            raise Problem(404, "Pair not found", f"No pair {pair_id!r} in your scope.")
        open_risk = await conn.fetchval(
            f"SELECT reasons FROM ({queries.open_risks(pair_param='$1')}) r", pair_id
        )
        events = await conn.fetch(
            "SELECT * FROM rm_timeline WHERE pair_id = $1 ORDER BY occurred_at, event_id", pair_id
        )
    closed = pair["closed_at"] is not None or pair["dissolved_at"] is not None
    return Timeline(
        pair_id=pair_id,
        cohort_id=pair["cohort_id"],
        region=pair["region"],
        mentor_name=pair["mentor_name"],
        mentee_name=pair["mentee_name"],
        status="closed" if closed else ("at_risk" if open_risk else "active"),
        events=[
            TimelineEntry(
                event_id=e["event_id"],
                occurred_at=e["occurred_at"],
                type=e["event_type"],
                summary=e["summary"],
                detail=e["detail"],
            )
            for e in events
        ],
    )


# -- exports ----------------------------------------------------------------------------------

Dataset = Literal["pairs", "participants", "sessions"]
FETCH = 1000


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


async def _rows(rt: Runtime, dataset: str, scope: Scope) -> AsyncIterator[tuple[list[str], list[Any]]]:
    """Rows from a server-side cursor, FETCH at a time; the first item's header is the columns."""
    sql, args = queries.export_query(dataset, scope)
    async with rt.pool.acquire() as conn, conn.transaction(readonly=True):
        cursor = await conn.cursor(sql, *args)
        header: list[str] | None = None
        while True:
            batch = await cursor.fetch(FETCH)
            if not batch:
                break
            if header is None:
                header = list(batch[0].keys())
            for rec in batch:
                yield header, [_cell(v) for v in rec.values()]
        if header is None:  # no rows: still emit the header
            stmt = await conn.prepare(sql)
            yield [a.name for a in stmt.get_attributes()], []


async def _csv(rt: Runtime, dataset: str, scope: Scope) -> AsyncIterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    started = False
    async for header, row in _rows(rt, dataset, scope):
        if not started:
            writer.writerow(header)
            started = True
        if row:
            writer.writerow(row)
        if buf.tell() > 64 * 1024:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode()


async def _xlsx(rt: Runtime, dataset: str, scope: Scope) -> AsyncIterator[bytes]:
    # constant_memory: each row is flushed to a temporary file as soon as the next one starts,
    # so memory stays flat however many rows; the zip is assembled on close and streamed out.
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        workbook = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        sheet = workbook.add_worksheet(dataset)
        bold = workbook.add_format({"bold": True})
        r = 0
        async for header, row in _rows(rt, dataset, scope):
            if r == 0:
                sheet.write_row(0, 0, header, bold)
                r = 1
            if row:
                sheet.write_row(r, 0, row)
                r += 1
                if r % FETCH == 0:
                    await asyncio.sleep(0)
        await asyncio.to_thread(workbook.close)
        with open(path, "rb") as fh:  # noqa: ASYNC230 - local temp file, chunked
            while chunk := fh.read(256 * 1024):
                yield chunk
    finally:
        os.unlink(path)


@router.get(
    "/exports/{dataset}.csv", response_class=StreamingResponse, responses={200: {"content": {"text/csv": {}}}}
)
async def export_csv(
    dataset: Dataset, scope: Scope = Depends(filters), rt: Runtime = Depends(get_runtime)
) -> StreamingResponse:
    return StreamingResponse(
        _csv(rt, dataset, scope),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="bridge-{dataset}.csv"'},
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/exports/{dataset}.xlsx", response_class=StreamingResponse, responses={200: {"content": {XLSX: {}}}}
)
async def export_xlsx(
    dataset: Dataset, scope: Scope = Depends(filters), rt: Runtime = Depends(get_runtime)
) -> StreamingResponse:
    return StreamingResponse(
        _xlsx(rt, dataset, scope),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="bridge-{dataset}.xlsx"'},
    )
