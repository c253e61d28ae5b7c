"""Programme analytics use cases: overview, breakdown, weekly series, at-risk pairs, timelines.
Each reads in one read-only transaction, so a report's queries agree with one another."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from bridge_reporting.app.access import can_see_region
from bridge_reporting.app.read import read
from bridge_reporting.db import figures, pairs, weekly
from bridge_reporting.db.pairs import TimelineRow
from bridge_reporting.domain.kpis import Figures, finish, funnel
from bridge_reporting.domain.pairs import AtRiskPair
from bridge_reporting.domain.scope import DIMENSIONS, Dimension, Scope
from bridge_reporting.domain.weekly import WeekRow, series
from bridge_shared.auth.principal import Principal
from bridge_shared.errors import Problem


@dataclass(frozen=True, slots=True)
class Overview:
    kpis: Figures
    funnel: list[tuple[str, int]]


@dataclass(frozen=True, slots=True)
class PairTimeline:
    pair_id: str
    cohort_id: str
    region: str | None
    mentor_name: str | None
    mentee_name: str | None
    status: str  # active, at_risk or closed
    events: list[TimelineRow]


async def overview(pool: asyncpg.Pool, scope: Scope) -> Overview:
    async with read(pool) as conn:
        k = finish((await figures.raw_figures(conn, scope, None))["all"])
    return Overview(kpis=k, funnel=funnel(k))


async def breakdown(pool: asyncpg.Pool, scope: Scope, by: Dimension) -> dict[str, Figures]:
    if by not in DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}")
    async with read(pool) as conn:
        groups = await figures.raw_figures(conn, scope, by)
    return {g: finish(raw) for g, raw in groups.items()}


async def weekly_series(pool: asyncpg.Pool, scope: Scope) -> list[WeekRow]:
    async with read(pool) as conn:
        raw = await weekly.raw_weekly(conn, scope)
    return series(raw, scope)


async def at_risk_pairs(pool: asyncpg.Pool, scope: Scope, limit: int) -> list[AtRiskPair]:
    async with read(pool) as conn:
        return await pairs.at_risk_pairs(conn, scope, limit)


async def pair_timeline(pool: asyncpg.Pool, principal: Principal, pair_id: str) -> PairTimeline:
    async with read(pool) as conn:
        pair = await pairs.pair(conn, pair_id)
        # A cross-region pair is in the scope of both its regions (docs/access.md, rule 5).
        if pair is None or not (
            can_see_region(principal, pair.region) or can_see_region(principal, pair.mentor_region)
        ):
            raise Problem(404, "Pair not found", f"No pair {pair_id!r} in your scope.")
        open_risk = await pairs.open_risk_reasons(conn, pair_id)
        events = await pairs.timeline(conn, pair_id)
    return PairTimeline(
        pair_id=pair_id,
        cohort_id=pair.cohort_id,
        region=pair.region,
        mentor_name=pair.mentor_name,
        mentee_name=pair.mentee_name,
        status="closed" if pair.closed else ("at_risk" if open_risk else "active"),
        events=events,
    )
