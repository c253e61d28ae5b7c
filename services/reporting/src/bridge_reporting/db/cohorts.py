"""Cohorts (rm_cohorts): one cohort's header, and cohort names for the reports that show them.

A cohort's figures are not counted here: the cohort summary is the overview of that cohort
(db/figures.py), so the two cannot differ."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import asyncpg


@dataclass(frozen=True, slots=True)
class CohortRow:
    cohort_id: str
    name: str | None  # NULL until cohort.created is seen (a later event may come first)
    regions: list[str] | None


COHORT_SQL = "SELECT cohort_id, name, regions FROM rm_cohorts WHERE cohort_id = $1"

NAMES_SQL = "SELECT cohort_id, name FROM rm_cohorts WHERE cohort_id = ANY($1::text[]) AND name IS NOT NULL"


async def cohort(conn: asyncpg.Connection[Any], cohort_id: str) -> CohortRow | None:
    rec = await conn.fetchrow(COHORT_SQL, cohort_id)
    return CohortRow(**rec) if rec is not None else None


async def names(conn: asyncpg.Connection[Any], cohort_ids: Collection[str]) -> dict[str, str]:
    """The known names of these cohorts (a cohort whose cohort.created is not seen yet has none)."""
    if not cohort_ids:
        return {}
    return {r["cohort_id"]: r["name"] for r in await conn.fetch(NAMES_SQL, list(cohort_ids))}
