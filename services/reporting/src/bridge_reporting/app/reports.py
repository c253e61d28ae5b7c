"""Programme analytics use cases: overview, breakdown, weekly series, at-risk and flagged pairs,
timelines.
Each reads in one read-only transaction, so a report's queries agree with one another."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from bridge_reporting.app.access import can_see_region
from bridge_reporting.app.read import read
from bridge_reporting.db import cohorts, figures, pairs, weekly
from bridge_reporting.db.pairs import TimelineRow
from bridge_reporting.domain.kpis import Figures, finish, funnel, published_groups
from bridge_reporting.domain.pairs import AtRiskPair, FlaggedPair
from bridge_reporting.domain.scope import DIMENSIONS, Dimension, Scope
from bridge_reporting.domain.weekly import WeekRow, series
from bridge_shared.auth.principal import Principal
from bridge_shared.errors import Problem


@dataclass(frozen=True, slots=True)
class Overview:
    kpis: Figures
    funnel: list[tuple[str, int]]
    cohort_name: str | None  # the name of the scope's cohort, when one is chosen, known and visible


@dataclass(frozen=True, slots=True)
class Group:
    """One row of a breakdown: the group's key, what to show for it, and its figures."""

    group: str
    label: str  # the cohort's name for a cohort (its id until cohort.created is seen); else the key
    figures: Figures


@dataclass(frozen=True, slots=True)
class PairTimeline:
    pair_id: str
    cohort_id: str
    cohort_name: str | None
    region: str | None
    mentor_name: str | None
    mentee_name: str | None
    status: str  # active, at_risk or closed
    events: list[TimelineRow]


async def overview(pool: asyncpg.Pool, scope: Scope) -> Overview:
    async with read(pool) as conn:
        return await overview_in(conn, scope)


async def overview_in(conn: asyncpg.Connection[Any], scope: Scope) -> Overview:
    """The overview's figures, in the caller's transaction: every figure of /reports/overview and
    /cohorts/{id}/summary comes from here, so the two cannot differ."""
    k = finish((await figures.raw_figures(conn, scope, None))["all"])
    return Overview(kpis=k, funnel=funnel(k), cohort_name=await _cohort_name(conn, scope))


async def _cohort_name(conn: asyncpg.Connection[Any], scope: Scope) -> str | None:
    """The scope's cohort's name, if the scope sees the cohort (one of its regions is in scope)."""
    if scope.cohort_id is None:
        return None
    cohort = await cohorts.cohort(conn, scope.cohort_id)
    if cohort is None or not scope.sees_any(cohort.regions or []):
        return None
    return cohort.name


async def breakdown(pool: asyncpg.Pool, scope: Scope, by: Dimension) -> list[Group]:
    """The figures per group; `(unknown)` only when it has members (domain/kpis.published_groups)."""
    if by not in DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}")
    async with read(pool) as conn:
        groups = published_groups(await figures.raw_figures(conn, scope, by))
        names = await cohorts.names(conn, groups) if by == "cohort" else {}
    return [Group(g, names.get(g, g), finish(raw)) for g, raw in groups.items()]


async def weekly_series(pool: asyncpg.Pool, scope: Scope) -> list[WeekRow]:
    async with read(pool) as conn:
        raw = await weekly.raw_weekly(conn, scope)
    return series(raw, scope)


async def at_risk_pairs(pool: asyncpg.Pool, scope: Scope, limit: int) -> list[AtRiskPair]:
    async with read(pool) as conn:
        return await pairs.at_risk_pairs(conn, scope, limit)


async def flagged_pairs(pool: asyncpg.Pool, scope: Scope, limit: int) -> list[FlaggedPair]:
    async with read(pool) as conn:
        return await pairs.flagged_pairs(conn, scope, limit)


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
        cohort_names = await cohorts.names(conn, [pair.cohort_id])
    return PairTimeline(
        pair_id=pair_id,
        cohort_id=pair.cohort_id,
        cohort_name=cohort_names.get(pair.cohort_id),
        region=pair.region,
        mentor_name=pair.mentor_name,
        mentee_name=pair.mentee_name,
        status="closed" if pair.closed else ("at_risk" if open_risk else "active"),
        events=events,
    )
