"""Raw weekly figures: per ISO week (Monday, UTC), over all time within the cohort and regions
(the series' running totals need history before the date range; domain/weekly.py cuts it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
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
    pair_attributed,
)
from bridge_reporting.domain.kpis import Raw
from bridge_reporting.domain.scope import Scope


def week_of(expr: str) -> str:
    return f"(date_trunc('week', {expr} AT TIME ZONE 'UTC'))::date"


ENROLLED = f"""
    SELECT {week_of("p.enrolled_at")} AS w, count(*) AS enrolled
    FROM rm_participants p WHERE {{where}} GROUP BY 1"""

NEWLY_MATCHED = f"""
    WITH firsts AS (
        SELECT pid, min(formed_at) AS at FROM (
            SELECT mentor_id AS pid, formed_at FROM rm_pairs
            UNION ALL SELECT mentee_id, formed_at FROM rm_pairs) x
        WHERE formed_at IS NOT NULL GROUP BY pid)
    SELECT {week_of("f.at")} AS w, count(*) AS newly_matched
    FROM firsts f JOIN rm_participants p ON p.participant_id = f.pid
    WHERE {{where}} GROUP BY 1"""

PAIRS_FORMED = f"""
    SELECT {week_of("pr.formed_at")} AS w, count(*) AS pairs_formed
    FROM rm_pairs pr WHERE {{where}} GROUP BY 1"""

PAIRS_CLOSED = f"""
    SELECT {week_of("LEAST(pr.closed_at, pr.dissolved_at)")} AS w, count(*) AS pairs_closed
    FROM rm_pairs pr WHERE {{where}}
      AND (pr.closed_at IS NOT NULL OR pr.dissolved_at IS NOT NULL) GROUP BY 1"""

AGREEMENTS_CONFIRMED = f"""
    SELECT {week_of("pr.agreement_confirmed_at")} AS w, count(*) AS agreements_confirmed
    FROM rm_pairs pr WHERE {{where}} GROUP BY 1"""

AT_RISK_SIGNALS = f"""
    SELECT {week_of("re.at")} AS w, count(*) AS at_risk_signals
    FROM rm_risk_events re LEFT JOIN rm_pairs pr USING (pair_id)
    WHERE re.signal AND {{where}} GROUP BY 1"""

SESSIONS = f"""
    WITH s AS ({HELD_SESSIONS.format(cohort="")})
    SELECT {week_of("s.held_at")} AS w, {SESSION_FIGURES}
    FROM s LEFT JOIN rm_pairs pr USING (pair_id)
    WHERE {{where}} GROUP BY 1"""

# Goals set and achieved, each counted in the week of its own timestamp.
GOALS = f"""
    SELECT {week_of("v.at")} AS w,
           count(*) FILTER (WHERE v.what = 'set') AS goals_set,
           count(*) FILTER (WHERE v.what = 'achieved') AS goals_achieved
    FROM rm_goals gl LEFT JOIN rm_pairs pr USING (pair_id)
    CROSS JOIN LATERAL (VALUES ('set', gl.set_at), ('achieved', gl.achieved_at)) v(what, at)
    WHERE v.at IS NOT NULL AND {{where}} GROUP BY 1"""

FEEDBACK = f"""
    SELECT {week_of("f.submitted_at")} AS w, {FEEDBACK_FIGURES}
    FROM rm_feedback f LEFT JOIN rm_pairs pr USING (pair_id)
    WHERE {{where}} GROUP BY 1"""

NOTIFICATIONS_FAILED = f"""
    SELECT {week_of("nt.failed_at")} AS w, count(*) AS notifications_failed
    FROM rm_notifications nt {RECIPIENT_JOIN}
    WHERE nt.failed_at IS NOT NULL AND nt.sent_at IS NULL AND {{where}} GROUP BY 1"""

_ENROLLED = ["p.enrolled_at IS NOT NULL"]

# Each query with the WHERE clause it takes (attribution, scope without dates, extra conditions).
QUERIES: tuple[tuple[str, Callable[[Params, Scope], str]], ...] = (
    (ENROLLED, lambda q, s: PARTICIPANT.where(q, s, at=None, extra=_ENROLLED)),
    (NEWLY_MATCHED, lambda q, s: PARTICIPANT.where(q, s, at=None, extra=_ENROLLED)),
    (PAIRS_FORMED, lambda q, s: PAIR.where(q, s, at=None, extra=["pr.formed_at IS NOT NULL"])),
    (PAIRS_CLOSED, lambda q, s: PAIR.where(q, s, at=None, extra=["pr.formed_at IS NOT NULL"])),
    (
        AGREEMENTS_CONFIRMED,
        lambda q, s: PAIR.where(q, s, at=None, extra=["pr.agreement_confirmed_at IS NOT NULL"]),
    ),
    (AT_RISK_SIGNALS, lambda q, s: PAIR.where(q, s, at=None, cohort="re.cohort_id")),
    (SESSIONS, lambda q, s: pair_attributed("s.cohort_id").where(q, s, at=None)),
    (GOALS, lambda q, s: pair_attributed("gl.cohort_id").where(q, s, at=None)),
    (FEEDBACK, lambda q, s: RESPONDENT.where(q, s, at=None)),
    (NOTIFICATIONS_FAILED, lambda q, s: RECIPIENT.where(q, s, at=None)),
)


async def raw_weekly(conn: asyncpg.Connection[Any], scope: Scope) -> dict[date, Raw]:
    """Raw figures per week with any activity, for the scope's cohort and regions (all time)."""
    unbounded = scope.unbounded()
    raw: dict[date, dict[str, float | None]] = {}
    for sql, where in QUERIES:
        q = Params()
        for rec in await conn.fetch(sql.format(where=where(q, unbounded)), *q.args):
            if rec["w"] is not None:
                raw.setdefault(rec["w"], {}).update({k: v for k, v in rec.items() if k != "w"})
    return dict(raw)
