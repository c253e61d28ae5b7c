"""Cohort summaries (rm_cohorts, rm_participants, rm_pairs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg


@dataclass(frozen=True, slots=True)
class CohortRow:
    cohort_id: str
    name: str | None  # NULL until cohort.created is seen (a later event may come first)
    regions: list[str] | None


@dataclass(frozen=True, slots=True)
class CohortCounts:
    participants: int  # enrolled, not withdrawn
    mentors: int
    mentees: int
    pairs_active: int  # formed, not closed or dissolved
    matched: int  # enrolled participants (of the regions counted) in an active pair


COHORT_SQL = "SELECT cohort_id, name, regions FROM rm_cohorts WHERE cohort_id = $1"

# $2: the regions counted (NULL = all). A pair counts when either person's region is one of them.
COUNTS_SQL = """
    WITH active AS (SELECT mentor_id, mentee_id FROM rm_pairs
                    WHERE cohort_id = $1 AND formed_at IS NOT NULL AND closed_at IS NULL
                      AND dissolved_at IS NULL
                      AND ($2::text[] IS NULL OR region = ANY($2) OR mentor_region = ANY($2)))
    SELECT count(*) FILTER (WHERE withdrawn_at IS NULL) AS participants,
           count(*) FILTER (WHERE withdrawn_at IS NULL AND role = 'mentor') AS mentors,
           count(*) FILTER (WHERE withdrawn_at IS NULL AND role = 'mentee') AS mentees,
           (SELECT count(*) FROM active) AS pairs_active,
           count(*) FILTER (WHERE withdrawn_at IS NULL AND EXISTS (
               SELECT 1 FROM active a WHERE p.participant_id IN (a.mentor_id, a.mentee_id))) AS matched
    FROM rm_participants p
    WHERE cohort_id = $1 AND enrolled_at IS NOT NULL AND ($2::text[] IS NULL OR region = ANY($2))"""


async def cohort(conn: asyncpg.Connection[Any], cohort_id: str) -> CohortRow | None:
    rec = await conn.fetchrow(COHORT_SQL, cohort_id)
    return CohortRow(**rec) if rec is not None else None


async def counts(
    conn: asyncpg.Connection[Any], cohort_id: str, regions: list[str] | None = None
) -> CohortCounts:
    """The cohort's counts over `regions` (None: every region)."""
    rec = await conn.fetchrow(COUNTS_SQL, cohort_id, regions)
    if rec is None:  # an aggregate without GROUP BY always returns one row
        raise RuntimeError("cohort counts returned no row")
    return CohortCounts(**rec)
