"""Raw programme figures for one scope, overall or per group: one query per family of rows
(participants, pairs, sessions, goals, feedback, notifications, and mentoring circles: circles,
their sessions' attendance, their learning flows), merged per group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg

from bridge_reporting.db.filters import (
    FEEDBACK_FIGURES,
    HELD_SESSIONS,
    PAIR,
    PARTICIPANT,
    RECIPIENT,
    RECIPIENT_JOIN,
    RESPONDENT,
    SESSION_FIGURES,
    Params,
    circle_member,
    open_risks,
    pair_attributed,
)
from bridge_reporting.domain.kpis import Raw
from bridge_reporting.domain.scope import Dimension, Scope

PARTICIPANTS_SQL = """
    WITH held AS (SELECT DISTINCT pair_id FROM rm_sessions WHERE held_at IS NOT NULL {and_cohort}),
    pp AS (SELECT pid, bool_or(h.pair_id IS NOT NULL) AS met FROM (
              SELECT mentor_id AS pid, pair_id FROM rm_pairs WHERE formed_at IS NOT NULL {and_cohort}
              UNION ALL SELECT mentee_id, pair_id FROM rm_pairs WHERE formed_at IS NOT NULL {and_cohort}) x
           LEFT JOIN held h USING (pair_id) GROUP BY pid),
    prop AS (SELECT mentor_id AS pid FROM rm_proposals {where_cohort}
             UNION SELECT mentee_id FROM rm_proposals {where_cohort}),
    dir AS (SELECT participant_id AS pid, bool_or(kind = 'left') AS left_company,
                   bool_or(kind = 'moved') AS moved
            FROM rm_directory_changes GROUP BY participant_id)
    SELECT {g} AS g,
           count(*) AS enrolled,
           count(*) FILTER (WHERE p.withdrawn_at IS NOT NULL) AS withdrawn,
           count(*) FILTER (WHERE dir.left_company) AS leavers,
           count(*) FILTER (WHERE dir.moved) AS movers,
           count(*) FILTER (WHERE p.role = 'mentor') AS mentors,
           count(*) FILTER (WHERE p.role = 'mentee') AS mentees,
           count(*) FILTER (WHERE prop.pid IS NOT NULL OR pp.pid IS NOT NULL) AS proposed,
           count(*) FILTER (WHERE pp.pid IS NOT NULL) AS matched,
           count(*) FILTER (WHERE pp.met) AS met
    FROM rm_participants p
    LEFT JOIN pp ON pp.pid = p.participant_id
    LEFT JOIN prop ON prop.pid = p.participant_id
    LEFT JOIN dir ON dir.pid = p.participant_id
    WHERE {where} GROUP BY 1"""

ENDED = "(pr.closed_at IS NOT NULL OR pr.dissolved_at IS NOT NULL)"
"""A pair that ended: closed by sessions or dissolved by matching. Its outcome is exactly one of
left_company (one of the two left the company), completed, or ended early (anything else, a
dissolution that sessions never closed included), so the three add up to pairs_closed."""

PAIRS_SQL = """
    WITH open_risk AS ({open_risks})
    SELECT {g} AS g,
           count(*) AS pairs_formed,
           count(*) FILTER (WHERE pr.closed_at IS NULL AND pr.dissolved_at IS NULL) AS pairs_active,
           count(*) FILTER (WHERE pr.closed_at IS NULL AND pr.dissolved_at IS NULL
                            AND r.pair_id IS NOT NULL) AS pairs_at_risk,
           count(*) FILTER (WHERE {ended}) AS pairs_closed,
           count(*) FILTER (WHERE {ended} AND pr.left_participant_id IS NULL
                            AND pr.outcome = 'completed') AS pairs_completed,
           count(*) FILTER (WHERE {ended} AND pr.left_participant_id IS NULL
                            AND pr.outcome IS DISTINCT FROM 'completed') AS pairs_ended_early,
           count(*) FILTER (WHERE {ended} AND pr.left_participant_id IS NOT NULL) AS pairs_left_company,
           count(*) FILTER (WHERE NOT ({ended}) AND pr.flagged_at IS NOT NULL) AS pairs_flagged,
           count(*) FILTER (WHERE pr.started_at IS NOT NULL) AS relationships_started,
           count(*) FILTER (WHERE pr.started_at IS NOT NULL
                            AND pr.agreement_confirmed_at IS NOT NULL) AS agreements_confirmed
    FROM rm_pairs pr LEFT JOIN open_risk r USING (pair_id)
    WHERE {where} GROUP BY 1"""

SESSIONS_SQL = """
    WITH s AS ({held})
    SELECT {g} AS g, {figures}
    FROM s LEFT JOIN rm_pairs pr USING (pair_id)
    WHERE {where} GROUP BY 1"""

GOALS_SQL = """
    SELECT {g} AS g,
           count(*) AS goals_set,
           count(*) FILTER (WHERE gl.achieved_at IS NOT NULL) AS goals_achieved,
           count(*) FILTER (WHERE gl.abandoned_at IS NOT NULL AND gl.achieved_at IS NULL) AS goals_abandoned
    FROM rm_goals gl LEFT JOIN rm_pairs pr USING (pair_id)
    WHERE {where} GROUP BY 1"""

FEEDBACK_SQL = """
    SELECT {g} AS g, {figures}
    FROM rm_feedback f LEFT JOIN rm_pairs pr USING (pair_id)
    WHERE {where} GROUP BY 1"""

NOTIFICATIONS_SQL = """
    SELECT {g} AS g,
           count(*) FILTER (WHERE nt.sent_at IS NOT NULL) AS notifications_sent,
           count(*) FILTER (WHERE nt.failed_at IS NOT NULL AND nt.sent_at IS NULL) AS notifications_failed,
           count(*) FILTER (WHERE nt.failed_at IS NOT NULL AND nt.sent_at IS NULL
                            AND nt.permanent) AS notifications_failed_permanent
    FROM rm_notifications nt {recipient}
    WHERE {where} GROUP BY 1"""


CIRCLES_SQL = """
    SELECT {g} AS g,
           count(DISTINCT ci.circle_id) AS circles_formed,
           count(DISTINCT ci.circle_id) FILTER (WHERE ci.closed_at IS NULL AND ci.dissolved_at IS NULL)
               AS circles_active,
           count(DISTINCT ci.circle_id) FILTER (WHERE ci.closed_at IS NOT NULL OR ci.dissolved_at IS NOT NULL)
               AS circles_closed,
           count(*) AS circle_memberships
    FROM rm_circles ci JOIN rm_circle_members cm USING (circle_id)
    WHERE {where} GROUP BY 1"""

CIRCLE_ATTENDANCE_SQL = """
    SELECT {g} AS g,
           count(DISTINCT a.session_id) AS circle_sessions_held,
           count(*) AS circle_attendance_expected,
           count(*) FILTER (WHERE a.attended) AS circle_attended
    FROM rm_circle_attendance a
    LEFT JOIN rm_circle_members cm ON cm.circle_id = a.circle_id AND cm.participant_id = a.participant_id
    WHERE {where} GROUP BY 1"""

CIRCLE_LEARNING_SQL = """
    SELECT {g} AS g,
           count(*) AS learning_flows,
           count(*) FILTER (WHERE l.direction = 'junior_to_senior') AS learning_junior_to_senior,
           count(*) FILTER (WHERE l.direction = 'senior_to_junior') AS learning_senior_to_junior,
           count(*) FILTER (WHERE l.direction = 'other') AS learning_other
    FROM rm_circle_learning l
    LEFT JOIN rm_circle_members cm ON cm.circle_id = l.circle_id AND cm.participant_id = l.to_id
    WHERE {where} GROUP BY 1"""


def _participants(q: Params, scope: Scope, by: Dimension | None) -> str:
    where_cohort = "" if scope.cohort_id is None else f"WHERE cohort_id = {q(scope.cohort_id)}"
    w = PARTICIPANT.where(q, scope, at="p.enrolled_at", extra=["p.enrolled_at IS NOT NULL"])
    return PARTICIPANTS_SQL.format(
        and_cohort=where_cohort.replace("WHERE", "AND"),
        where_cohort=where_cohort,
        g=PARTICIPANT.group(by),
        where=w,
    )


def _pairs(q: Params, scope: Scope, by: Dimension | None) -> str:
    w = PAIR.where(q, scope, at="pr.formed_at", extra=["pr.formed_at IS NOT NULL"])
    return PAIRS_SQL.format(
        open_risks=open_risks(q, cohort_id=scope.cohort_id),
        g=PAIR.group(by, q, scope),
        where=w,
        ended=ENDED,
    )


def _sessions(q: Params, scope: Scope, by: Dimension | None) -> str:
    inner = "" if scope.cohort_id is None else f"AND cohort_id = {q(scope.cohort_id)}"
    attr = pair_attributed("s.cohort_id")
    return SESSIONS_SQL.format(
        held=HELD_SESSIONS.format(cohort=inner),
        g=attr.group(by, q, scope),
        figures=SESSION_FIGURES,
        where=attr.where(q, scope, at="s.held_at"),
    )


def _goals(q: Params, scope: Scope, by: Dimension | None) -> str:
    attr = pair_attributed("gl.cohort_id")
    return GOALS_SQL.format(g=attr.group(by, q, scope), where=attr.where(q, scope, at="gl.set_at"))


def _feedback(q: Params, scope: Scope, by: Dimension | None) -> str:
    w = RESPONDENT.where(q, scope, at="f.submitted_at")
    return FEEDBACK_SQL.format(g=RESPONDENT.group(by), figures=FEEDBACK_FIGURES, where=w)


def _notifications(q: Params, scope: Scope, by: Dimension | None) -> str:
    w = RECIPIENT.where(q, scope, at="COALESCE(nt.failed_at, nt.sent_at)")
    return NOTIFICATIONS_SQL.format(g=RECIPIENT.group(by), recipient=RECIPIENT_JOIN, where=w)


def _circles(q: Params, scope: Scope, by: Dimension | None) -> str:
    attr = circle_member("ci.cohort_id")
    w = attr.where(q, scope, at="ci.formed_at", extra=["ci.formed_at IS NOT NULL"])
    return CIRCLES_SQL.format(g=attr.group(by), where=w)


def _circle_attendance(q: Params, scope: Scope, by: Dimension | None) -> str:
    attr = circle_member("a.cohort_id")
    return CIRCLE_ATTENDANCE_SQL.format(g=attr.group(by), where=attr.where(q, scope, at="a.held_at"))


def _circle_learning(q: Params, scope: Scope, by: Dimension | None) -> str:
    attr = circle_member("l.cohort_id")
    return CIRCLE_LEARNING_SQL.format(g=attr.group(by), where=attr.where(q, scope, at="l.held_at"))


FAMILIES: tuple[Callable[[Params, Scope, Dimension | None], str], ...] = (
    _participants,
    _pairs,
    _sessions,
    _goals,
    _feedback,
    _notifications,
    _circles,
    _circle_attendance,
    _circle_learning,
)


def figures_sql(q: Params, scope: Scope, by: Dimension | None) -> str:
    """Every family's figures in one statement (one round trip): the families' grouped results
    joined on their group, so a group that one family lacks has NULL there (`kpis.count` reads
    NULL and absent alike)."""
    parts = [f"({family(q, scope, by)}) AS f{i}" for i, family in enumerate(FAMILIES)]
    return "SELECT * FROM " + " FULL JOIN ".join(
        p if i == 0 else f"{p} USING (g)" for i, p in enumerate(parts)
    )


async def raw_figures(conn: asyncpg.Connection[Any], scope: Scope, by: Dimension | None) -> dict[str, Raw]:
    """Raw figures per group (`by`), or under the single key 'all', sorted by group."""
    q = Params()
    sql = figures_sql(q, scope, by)
    raw: dict[str, dict[str, float | None]] = {
        rec["g"]: {k: v for k, v in rec.items() if k != "g"} for rec in await conn.fetch(sql, *q.args)
    }
    if by is None:
        raw.setdefault("all", {})
    return dict(sorted(raw.items()))
