"""The export datasets (pairs, participants, sessions, circles): one query each, read through a
server-side cursor so an export of any size streams in constant memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import asyncpg

from bridge_reporting.db.filters import PAIR, PARTICIPANT, Params, open_risks, pair_attributed, where
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


# One row per circle that was proposed or formed: its make-up by generation, where its members come
# from, its life, its group sessions' attendance and its learning flows by direction (ids only).
CIRCLES_SQL = """
    WITH mem AS (SELECT circle_id, count(*) AS members,
                        count(*) FILTER (WHERE generation = 'junior') AS juniors,
                        count(*) FILTER (WHERE generation = 'senior') AS seniors,
                        array_agg(DISTINCT region ORDER BY region) AS regions,
                        array_agg(DISTINCT department ORDER BY department) AS departments
                 FROM rm_circle_members GROUP BY circle_id),
    ses AS (SELECT circle_id, count(held_at) AS sessions_held, max(held_at) AS last_session_at,
                   sum(members) AS expected, sum(attended) AS attended,
                   count(cancelled_at) FILTER (WHERE held_at IS NULL
                       AND cancelled_at >= COALESCE(scheduled_at, cancelled_at)) AS sessions_cancelled,
                   sum(ideas) AS ideas
            FROM rm_circle_sessions GROUP BY circle_id),
    fl AS (SELECT circle_id, count(*) AS flows,
                  count(*) FILTER (WHERE direction = 'junior_to_senior') AS j2s,
                  count(*) FILTER (WHERE direction = 'senior_to_junior') AS s2j,
                  count(*) FILTER (WHERE direction = 'other') AS other
           FROM rm_circle_learning GROUP BY circle_id)
    SELECT ci.circle_id, ci.cohort_id, ci.facilitator_id,
           CASE WHEN ci.closed_at IS NOT NULL THEN 'closed' WHEN ci.dissolved_at IS NOT NULL THEN 'dissolved'
                WHEN ci.formed_at IS NOT NULL THEN 'active' ELSE 'proposed' END AS status,
           COALESCE(mem.members, ci.member_count) AS members, mem.juniors, mem.seniors,
           array_to_string(mem.regions, ';') AS regions, array_to_string(mem.departments, ';') AS departments,
           ci.proposed_at, ci.formed_at, ci.started_at, COALESCE(ci.closed_at, ci.dissolved_at) AS closed_at,
           CASE WHEN ci.dissolved_at IS NOT NULL AND ci.closed_at IS NULL THEN 'dissolved' ELSE ci.outcome END
               AS outcome,
           COALESCE(ses.sessions_held, 0) AS sessions_held, COALESCE(ses.sessions_cancelled, 0)
               AS sessions_cancelled, ses.last_session_at,
           CASE WHEN ses.expected > 0 THEN round(1.0 * ses.attended / ses.expected, 4) END AS attendance_rate,
           COALESCE(ses.ideas, 0) AS ideas,
           COALESCE(fl.flows, 0) AS learning_flows, COALESCE(fl.j2s, 0) AS learning_junior_to_senior,
           COALESCE(fl.s2j, 0) AS learning_senior_to_junior, COALESCE(fl.other, 0) AS learning_other,
           CASE WHEN COALESCE(fl.j2s, 0) + COALESCE(fl.s2j, 0) > 0
                THEN round(2.0 * LEAST(fl.j2s, fl.s2j) / (fl.j2s + fl.s2j), 4) END
               AS cross_generation_exchange_index
    FROM rm_circles ci
    LEFT JOIN mem USING (circle_id) LEFT JOIN ses USING (circle_id) LEFT JOIN fl USING (circle_id)
    WHERE {where}
    ORDER BY ci.cohort_id, ci.circle_id"""


def _pairs(q: Params, scope: Scope) -> str:
    w = PAIR.where(q, scope, at="pr.formed_at")
    return PAIRS_SQL.format(open_risks=open_risks(q, cohort_id=scope.cohort_id), where=w)


def _participants(q: Params, scope: Scope) -> str:
    w = PARTICIPANT.where(q, scope, at="p.enrolled_at", extra=["p.enrolled_at IS NOT NULL"])
    return PARTICIPANTS_SQL.format(where=w)


def _sessions(q: Params, scope: Scope) -> str:
    w = pair_attributed("s.cohort_id").where(q, scope, at="COALESCE(s.held_at, s.starts_at)")
    return SESSIONS_SQL.format(where=w)


def _circles(q: Params, scope: Scope) -> str:
    """A circle is in a regional scope when one of its members is (the one region rule)."""
    conds = [
        where(
            q,
            replace(scope, regions=None),
            region="NULL",
            cohort="ci.cohort_id",
            at="COALESCE(ci.formed_at, ci.proposed_at)",
        )
    ]
    if scope.regions is not None:
        conds.append(
            "EXISTS (SELECT 1 FROM rm_circle_members x WHERE x.circle_id = ci.circle_id "
            f"AND x.region = ANY({q(list(scope.regions))}::text[]))"
        )
    return CIRCLES_SQL.format(where=" AND ".join(conds))


QUERIES: dict[str, Callable[[Params, Scope], str]] = {
    "pairs": _pairs,
    "participants": _participants,
    "sessions": _sessions,
    "circles": _circles,
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
