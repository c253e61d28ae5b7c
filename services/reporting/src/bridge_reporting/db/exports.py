"""The export datasets (pairs, participants, sessions): one query each, read through a
server-side cursor so an export of any size streams in constant memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

from bridge_reporting.db.filters import PAIR, PARTICIPANT, Params, open_risks, pair_attributed
from bridge_reporting.domain.scope import Dataset, Scope

PAIRS_SQL = """
    WITH open_risk AS ({open_risks}),
    ses AS (SELECT pair_id, count(held_at) AS sessions_held, max(held_at) AS last_session_at,
                   sum(topics_m2e) AS m2e, sum(topics_e2m) AS e2m
            FROM rm_sessions GROUP BY pair_id),
    fb AS (SELECT pair_id, avg(rating)::float8 AS average_rating,
                  count(recommend_score) AS nps_responses FROM rm_feedback GROUP BY pair_id),
    gl AS (SELECT pair_id, count(*) AS goals_set, count(achieved_at) AS goals_achieved
           FROM rm_goals GROUP BY pair_id)
    SELECT pr.pair_id, pr.cohort_id, pr.region, pr.department, pr.band,
           pr.mentor_id, pr.mentor_name, pr.mentor_region, pr.mentee_id, pr.mentee_name,
           CASE WHEN pr.closed_at IS NOT NULL OR pr.dissolved_at IS NOT NULL THEN 'closed'
                WHEN r.pair_id IS NOT NULL THEN 'at_risk' ELSE 'active' END AS status,
           array_to_string(r.reasons, ';') AS risk_reasons,
           pr.formed_at, pr.started_at, pr.agreement_confirmed_at,
           COALESCE(pr.closed_at, pr.dissolved_at) AS closed_at,
           CASE WHEN pr.left_participant_id IS NOT NULL THEN 'left_company' ELSE pr.outcome END AS outcome,
           pr.left_participant_id, pr.flagged_at, pr.flag_rule,
           COALESCE(ses.sessions_held, 0) AS sessions_held, ses.last_session_at,
           CASE WHEN COALESCE(ses.m2e, 0) + COALESCE(ses.e2m, 0) > 0
                THEN round(2.0 * LEAST(ses.m2e, ses.e2m) / (ses.m2e + ses.e2m), 4) END AS balance_index,
           COALESCE(gl.goals_set, 0) AS goals_set, COALESCE(gl.goals_achieved, 0) AS goals_achieved,
           round(fb.average_rating::numeric, 2) AS average_rating
    FROM rm_pairs pr
    LEFT JOIN open_risk r USING (pair_id)
    LEFT JOIN ses USING (pair_id) LEFT JOIN fb USING (pair_id) LEFT JOIN gl USING (pair_id)
    WHERE {where}
    ORDER BY pr.cohort_id, pr.pair_id"""

PARTICIPANTS_SQL = """
    SELECT p.participant_id, p.cohort_id, p.employee_id, p.role, p.region, p.department,
           p.seniority_level, p.band, p.enrolled_at, p.withdrawn_at,
           (SELECT max(d.at) FROM rm_directory_changes d
             WHERE d.participant_id = p.participant_id AND d.kind = 'left') AS left_company_at,
           EXISTS (SELECT 1 FROM rm_pairs x WHERE x.mentor_id = p.participant_id AND x.formed_at IS NOT NULL)
           OR EXISTS (SELECT 1 FROM rm_pairs x
                      WHERE x.mentee_id = p.participant_id AND x.formed_at IS NOT NULL) AS matched
    FROM rm_participants p WHERE {where} ORDER BY p.cohort_id, p.participant_id"""

SESSIONS_SQL = """
    SELECT s.session_id, s.pair_id, s.cohort_id, pr.region,
           CASE WHEN s.held_at IS NOT NULL THEN 'held'
                WHEN s.cancelled_at IS NOT NULL
                     AND s.cancelled_at >= COALESCE(s.scheduled_at, s.cancelled_at) THEN 'cancelled'
                ELSE 'scheduled' END AS status,
           s.starts_at, s.held_at, s.duration_minutes, s.topics_m2e AS topics_mentor_to_mentee,
           s.topics_e2m AS topics_mentee_to_mentor, s.action_items
    FROM rm_sessions s LEFT JOIN rm_pairs pr USING (pair_id)
    WHERE {where} ORDER BY s.cohort_id, s.pair_id, COALESCE(s.held_at, s.starts_at), s.session_id"""


def _pairs(q: Params, scope: Scope) -> str:
    w = PAIR.where(q, scope, at="pr.formed_at")
    return PAIRS_SQL.format(open_risks=open_risks(q, cohort_id=scope.cohort_id), where=w)


def _participants(q: Params, scope: Scope) -> str:
    w = PARTICIPANT.where(q, scope, at="p.enrolled_at", extra=["p.enrolled_at IS NOT NULL"])
    return PARTICIPANTS_SQL.format(where=w)


def _sessions(q: Params, scope: Scope) -> str:
    w = pair_attributed("s.cohort_id").where(q, scope, at="COALESCE(s.held_at, s.starts_at)")
    return SESSIONS_SQL.format(where=w)


QUERIES: dict[str, Callable[[Params, Scope], str]] = {
    "pairs": _pairs,
    "participants": _participants,
    "sessions": _sessions,
}

# An export row is genuinely dynamic: the dataset's columns, each of its own type.
ExportRow = list[Any]


async def rows(
    conn: asyncpg.Connection[Any], dataset: Dataset, scope: Scope, fetch: int
) -> AsyncIterator[tuple[list[str], ExportRow]]:
    """(header, row) pairs from a server-side cursor, `fetch` rows at a time; with no rows, one
    item with the header and an empty row. Needs a transaction (the caller's)."""
    q = Params()
    sql = QUERIES[dataset](q, scope)
    cursor = await conn.cursor(sql, *q.args)
    header: list[str] | None = None
    while True:
        batch = await cursor.fetch(fetch)
        if not batch:
            break
        if header is None:
            header = list(batch[0].keys())
        for rec in batch:
            yield header, list(rec.values())
    if header is None:  # no rows: still emit the header
        stmt = await conn.prepare(sql)
        yield [a.name for a in stmt.get_attributes()], []
