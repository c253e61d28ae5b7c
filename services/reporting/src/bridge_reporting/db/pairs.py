"""Pairs: the at-risk list, one pair's header and its timeline (rm_pairs, rm_risk_events,
rm_sessions, rm_timeline; rm_cohorts for the cohort's name)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from bridge_reporting.db.filters import PAIR, Params, open_risks
from bridge_reporting.domain.pairs import AtRiskPair, FlaggedPair
from bridge_reporting.domain.scope import Scope


@dataclass(frozen=True, slots=True)
class PairRow:
    pair_id: str
    cohort_id: str
    region: str | None
    mentor_region: str | None
    mentor_name: str | None
    mentee_name: str | None
    closed: bool  # closed by sessions or dissolved by matching


@dataclass(frozen=True, slots=True)
class TimelineRow:
    event_id: str
    occurred_at: datetime
    event_type: str
    summary: str
    detail: dict[str, Any]  # jsonb: the event's payload minus contact details, as decoded


AT_RISK_SQL = """
    WITH open_risk AS ({open_risks})
    SELECT pr.pair_id, pr.cohort_id, c.name AS cohort_name, pr.relationship_id, pr.region,
           pr.department, pr.band, pr.mentor_name, pr.mentee_name, pr.formed_at, r.reasons, r.risks,
           (SELECT max(held_at) FROM rm_sessions s WHERE s.pair_id = pr.pair_id) AS last_session_at,
           (SELECT count(held_at) FROM rm_sessions s WHERE s.pair_id = pr.pair_id) AS sessions_held
    FROM rm_pairs pr JOIN open_risk r USING (pair_id)
    LEFT JOIN rm_cohorts c ON c.cohort_id = pr.cohort_id
    WHERE {where}
    ORDER BY (SELECT min((x->>'since')::timestamptz) FROM jsonb_array_elements(r.risks) x), pr.pair_id
    LIMIT {limit}"""

FLAGGED_SQL = """
    SELECT pr.pair_id, pr.cohort_id, c.name AS cohort_name, pr.relationship_id, pr.region,
           pr.department, pr.band, pr.mentor_id, pr.mentor_name, pr.mentee_id, pr.mentee_name,
           pr.formed_at, pr.flagged_at, pr.flag_rule AS rule, pr.flag_reason AS reason,
           (SELECT max(held_at) FROM rm_sessions s WHERE s.pair_id = pr.pair_id) AS last_session_at,
           (SELECT count(held_at) FROM rm_sessions s WHERE s.pair_id = pr.pair_id) AS sessions_held
    FROM rm_pairs pr LEFT JOIN rm_cohorts c ON c.cohort_id = pr.cohort_id
    WHERE {where}
    ORDER BY pr.flagged_at DESC, pr.pair_id
    LIMIT {limit}"""

PAIR_SQL = """
    SELECT pair_id, cohort_id, region, mentor_region, mentor_name, mentee_name,
           closed_at IS NOT NULL OR dissolved_at IS NOT NULL AS closed
    FROM rm_pairs WHERE pair_id = $1"""

TIMELINE_SQL = """
    SELECT event_id, occurred_at, event_type, summary, detail
    FROM rm_timeline WHERE pair_id = $1 ORDER BY occurred_at, event_id"""


async def at_risk_pairs(conn: asyncpg.Connection[Any], scope: Scope, limit: int) -> list[AtRiskPair]:
    q = Params()
    w = PAIR.where(q, scope, at=None, extra=["pr.closed_at IS NULL", "pr.dissolved_at IS NULL"])
    sql = AT_RISK_SQL.format(open_risks=open_risks(q, cohort_id=scope.cohort_id), where=w, limit=q(limit))
    return [AtRiskPair.model_validate(dict(rec)) for rec in await conn.fetch(sql, *q.args)]


async def flagged_pairs(conn: asyncpg.Connection[Any], scope: Scope, limit: int) -> list[FlaggedPair]:
    """Active pairs with a flag (newest flag first), in scope: either person's region (rule 5)."""
    q = Params()
    w = PAIR.where(
        q,
        scope,
        at=None,
        extra=["pr.flagged_at IS NOT NULL", "pr.closed_at IS NULL", "pr.dissolved_at IS NULL"],
    )
    sql = FLAGGED_SQL.format(where=w, limit=q(limit))
    return [FlaggedPair.model_validate(dict(rec)) for rec in await conn.fetch(sql, *q.args)]


async def pair(conn: asyncpg.Connection[Any], pair_id: str) -> PairRow | None:
    rec = await conn.fetchrow(PAIR_SQL, pair_id)
    return PairRow(**rec) if rec is not None else None


async def open_risk_reasons(conn: asyncpg.Connection[Any], pair_id: str) -> list[str]:
    q = Params()
    sql = f"SELECT reasons FROM ({open_risks(q, pair_id=pair_id)}) r"
    reasons: list[str] | None = await conn.fetchval(sql, *q.args)
    return reasons or []


async def timeline(conn: asyncpg.Connection[Any], pair_id: str) -> list[TimelineRow]:
    return [TimelineRow(**rec) for rec in await conn.fetch(TIMELINE_SQL, pair_id)]
