"""Programme figures computed from the read models, for one scope, overall or per group.

Attribution (documented in the README):
- participant figures (enrolled, matched, match rate, funnel) use the participant's own region,
  department and seniority band;
- pair figures (pairs, agreements, sessions, balance, goals) use the pair's region, department and
  band, which are the mentee's (the senior leader being reverse-mentored), as at pair.formed;
- feedback figures (rating, NPS) use the respondent's side of the pair;
- notification figures use the recipient (a participant id or employee id) when it is known.
Regional HR see rows whose attributed region is one of theirs; rows with no known region are
visible to global HR only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Conn: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"
Dimension = Literal["region", "department", "band", "cohort"]
DIMENSIONS: tuple[str, ...] = ("region", "department", "band", "cohort")


@dataclass(frozen=True)
class Scope:
    cohort_id: str | None = None
    regions: tuple[str, ...] | None = None  # None: every region (global HR)
    date_from: date | None = None
    date_to: date | None = None  # inclusive


class Params:
    def __init__(self) -> None:
        self.args: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"


def where(
    q: Params, scope: Scope, *, region: str, cohort: str, at: str | None, extra: Sequence[str] = ()
) -> str:
    conds = list(extra)
    if scope.cohort_id is not None:
        conds.append(f"{cohort} = {q(scope.cohort_id)}")
    if scope.regions is not None:
        conds.append(f"{region} = ANY({q(list(scope.regions))}::text[])")
    if at is not None and scope.date_from is not None:
        conds.append(f"{at} >= {q(scope.date_from)}::date::timestamptz")
    if at is not None and scope.date_to is not None:
        conds.append(f"{at} < ({q(scope.date_to + timedelta(days=1))}::date)::timestamptz")
    return " AND ".join(conds) or "TRUE"


# Per family: the dimension expressions.
_PARTICIPANT_DIMS = {
    "region": "p.region",
    "department": "p.department",
    "band": "p.band",
    "cohort": "p.cohort_id",
}
_PAIR_DIMS = {
    "region": "pr.region",
    "department": "pr.department",
    "band": "pr.band",
    "cohort": "pr.cohort_id",
}
_RESPONDENT_DIMS = {
    "region": "CASE WHEN f.by_side = 'mentor' THEN pr.mentor_region ELSE pr.region END",
    "department": "CASE WHEN f.by_side = 'mentor' THEN pr.mentor_department ELSE pr.department END",
    "band": "CASE WHEN f.by_side = 'mentor' THEN pr.mentor_band ELSE pr.band END",
    "cohort": "f.cohort_id",
}
_RECIPIENT_DIMS = {
    "region": "rp.region",
    "department": "rp.department",
    "band": "rp.band",
    "cohort": "nt.cohort_id",
}


def open_risks(q: Params | None = None, scope: Scope | None = None, *, pair_param: str | None = None) -> str:
    """Open risk reasons per pair: the latest signal/resolution per (pair, reason) is a signal."""
    conds = []
    if q is not None and scope is not None and scope.cohort_id is not None:
        conds.append(f"cohort_id = {q(scope.cohort_id)}")
    if pair_param is not None:
        conds.append(f"pair_id = {pair_param}")
    w = ("WHERE " + " AND ".join(conds)) if conds else ""
    return f"""
    SELECT pair_id, array_agg(reason ORDER BY reason) AS reasons,
           jsonb_agg(jsonb_build_object('reason', reason, 'detail', detail, 'since', at)
                     ORDER BY reason) AS risks
    FROM (SELECT DISTINCT ON (pair_id, reason) pair_id, reason, signal, detail, at
          FROM rm_risk_events {w} ORDER BY pair_id, reason, at DESC, signal ASC) latest
    WHERE signal GROUP BY pair_id"""


def _g(dims: dict[str, str], by: str | None) -> str:
    return "'all'" if by is None else f"COALESCE({dims[by]}, '(unknown)')"


async def _participants(conn: Conn, scope: Scope, by: str | None) -> list[Any]:
    q = Params()
    cohort_pairs = "" if scope.cohort_id is None else f"WHERE cohort_id = {q(scope.cohort_id)}"
    held_cohort = cohort_pairs.replace("WHERE", "AND")
    w = where(
        q,
        scope,
        region="p.region",
        cohort="p.cohort_id",
        at="p.enrolled_at",
        extra=["p.enrolled_at IS NOT NULL"],
    )
    sql = f"""
    WITH held AS (SELECT DISTINCT pair_id FROM rm_sessions WHERE held_at IS NOT NULL {held_cohort}),
    pp AS (SELECT pid, bool_or(h.pair_id IS NOT NULL) AS met FROM (
              SELECT mentor_id AS pid, pair_id FROM rm_pairs {cohort_pairs}
              UNION ALL SELECT mentee_id, pair_id FROM rm_pairs {cohort_pairs}) x
           LEFT JOIN held h USING (pair_id) GROUP BY pid),
    prop AS (SELECT mentor_id AS pid FROM rm_proposals {cohort_pairs}
             UNION SELECT mentee_id FROM rm_proposals {cohort_pairs})
    SELECT {_g(_PARTICIPANT_DIMS, by)} AS g,
           count(*) AS enrolled,
           count(*) FILTER (WHERE p.withdrawn_at IS NOT NULL) AS withdrawn,
           count(*) FILTER (WHERE p.role = 'mentor') AS mentors,
           count(*) FILTER (WHERE p.role = 'mentee') AS mentees,
           count(*) FILTER (WHERE prop.pid IS NOT NULL OR pp.pid IS NOT NULL) AS proposed,
           count(*) FILTER (WHERE pp.pid IS NOT NULL) AS matched,
           count(*) FILTER (WHERE pp.met) AS met
    FROM rm_participants p
    LEFT JOIN pp ON pp.pid = p.participant_id
    LEFT JOIN prop ON prop.pid = p.participant_id
    WHERE {w} GROUP BY 1"""
    return await conn.fetch(sql, *q.args)


async def _pairs(conn: Conn, scope: Scope, by: str | None) -> list[Any]:
    q = Params()
    w = where(
        q,
        scope,
        region="pr.region",
        cohort="pr.cohort_id",
        at="pr.formed_at",
        extra=["pr.formed_at IS NOT NULL"],
    )
    sql = f"""
    WITH open_risk AS ({open_risks(q, scope)})
    SELECT {_g(_PAIR_DIMS, by)} AS g,
           count(*) AS pairs_formed,
           count(*) FILTER (WHERE pr.closed_at IS NULL AND pr.dissolved_at IS NULL) AS pairs_active,
           count(*) FILTER (WHERE pr.closed_at IS NULL AND pr.dissolved_at IS NULL
                            AND r.pair_id IS NOT NULL) AS pairs_at_risk,
           count(*) FILTER (WHERE pr.closed_at IS NOT NULL OR pr.dissolved_at IS NOT NULL) AS pairs_closed,
           count(*) FILTER (WHERE pr.started_at IS NOT NULL) AS relationships_started,
           count(*) FILTER (WHERE pr.started_at IS NOT NULL
                            AND pr.agreement_confirmed_at IS NOT NULL) AS agreements_confirmed
    FROM rm_pairs pr LEFT JOIN open_risk r USING (pair_id)
    WHERE {w} GROUP BY 1"""
    return await conn.fetch(sql, *q.args)


async def _sessions(conn: Conn, scope: Scope, by: str | None) -> list[Any]:
    q = Params()
    inner = "" if scope.cohort_id is None else f"AND cohort_id = {q(scope.cohort_id)}"
    w = where(q, scope, region="pr.region", cohort="s.cohort_id", at="s.held_at")
    dims = dict(_PAIR_DIMS, cohort="s.cohort_id")
    sql = f"""
    WITH s AS (SELECT pair_id, cohort_id, held_at, topics_m2e, topics_e2m,
                      held_at - lag(held_at) OVER (PARTITION BY pair_id ORDER BY held_at) AS gap
               FROM rm_sessions WHERE held_at IS NOT NULL {inner})
    SELECT {_g(dims, by)} AS g,
           count(*) AS sessions_held,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s.gap) / 86400.0)
               AS median_days_between_sessions,
           coalesce(sum(s.topics_m2e), 0) AS topics_mentor_to_mentee,
           coalesce(sum(s.topics_e2m), 0) AS topics_mentee_to_mentor
    FROM s LEFT JOIN rm_pairs pr USING (pair_id)
    WHERE {w} GROUP BY 1"""
    return await conn.fetch(sql, *q.args)


async def _goals(conn: Conn, scope: Scope, by: str | None) -> list[Any]:
    q = Params()
    w = where(q, scope, region="pr.region", cohort="gl.cohort_id", at="gl.set_at")
    dims = dict(_PAIR_DIMS, cohort="gl.cohort_id")
    sql = f"""
    SELECT {_g(dims, by)} AS g,
           count(*) AS goals_set,
           count(*) FILTER (WHERE gl.achieved_at IS NOT NULL) AS goals_achieved,
           count(*) FILTER (WHERE gl.abandoned_at IS NOT NULL AND gl.achieved_at IS NULL) AS goals_abandoned
    FROM rm_goals gl LEFT JOIN rm_pairs pr USING (pair_id)
    WHERE {w} GROUP BY 1"""
    return await conn.fetch(sql, *q.args)


async def _feedback(conn: Conn, scope: Scope, by: str | None) -> list[Any]:
    q = Params()
    w = where(q, scope, region=_RESPONDENT_DIMS["region"], cohort="f.cohort_id", at="f.submitted_at")
    sql = f"""
    SELECT {_g(_RESPONDENT_DIMS, by)} AS g,
           count(*) AS feedback_responses,
           count(f.rating) AS rating_responses,
           avg(f.rating)::float8 AS average_rating,
           count(f.recommend_score) AS nps_responses,
           count(*) FILTER (WHERE f.recommend_score >= 9) AS promoters,
           count(*) FILTER (WHERE f.recommend_score <= 6) AS detractors
    FROM rm_feedback f LEFT JOIN rm_pairs pr USING (pair_id)
    WHERE {w} GROUP BY 1"""
    return await conn.fetch(sql, *q.args)


async def _notifications(conn: Conn, scope: Scope, by: str | None) -> list[Any]:
    q = Params()
    w = where(q, scope, region="rp.region", cohort="nt.cohort_id", at="COALESCE(nt.failed_at, nt.sent_at)")
    sql = f"""
    SELECT {_g(_RECIPIENT_DIMS, by)} AS g,
           count(*) FILTER (WHERE nt.sent_at IS NOT NULL) AS notifications_sent,
           count(*) FILTER (WHERE nt.failed_at IS NOT NULL AND nt.sent_at IS NULL) AS notifications_failed,
           count(*) FILTER (WHERE nt.failed_at IS NOT NULL AND nt.sent_at IS NULL
                            AND nt.permanent) AS notifications_failed_permanent
    FROM rm_notifications nt
    LEFT JOIN LATERAL (
        SELECT region, department, band FROM rm_participants x
        WHERE x.participant_id = nt.recipient_id
           OR (x.employee_id = nt.recipient_id AND x.cohort_id = nt.cohort_id)
        ORDER BY (x.participant_id = nt.recipient_id) DESC LIMIT 1) rp ON TRUE
    WHERE {w} GROUP BY 1"""
    return await conn.fetch(sql, *q.args)


COUNT_FIELDS = (
    "enrolled",
    "withdrawn",
    "mentors",
    "mentees",
    "proposed",
    "matched",
    "met",
    "pairs_formed",
    "pairs_active",
    "pairs_at_risk",
    "pairs_closed",
    "relationships_started",
    "agreements_confirmed",
    "sessions_held",
    "topics_mentor_to_mentee",
    "topics_mentee_to_mentor",
    "goals_set",
    "goals_achieved",
    "goals_abandoned",
    "feedback_responses",
    "rating_responses",
    "nps_responses",
    "promoters",
    "detractors",
    "notifications_sent",
    "notifications_failed",
    "notifications_failed_permanent",
)
RATE_FIELDS = (
    "match_rate",
    "agreement_confirmation_rate",
    "median_days_between_sessions",
    "balance_index",
    "goal_completion_rate",
    "average_rating",
    "nps",
)
KPI_FIELDS = COUNT_FIELDS + RATE_FIELDS


def _ratio(a: float, b: float, digits: int = 4) -> float | None:
    return round(a / b, digits) if b else None


def finish(raw: dict[str, Any]) -> dict[str, Any]:
    """Turns raw counts into the published figures (rates, balance index, NPS)."""
    k: dict[str, Any] = {f: int(raw.get(f) or 0) for f in COUNT_FIELDS}
    k["match_rate"] = _ratio(k["matched"], k["enrolled"])
    k["agreement_confirmation_rate"] = _ratio(k["agreements_confirmed"], k["relationships_started"])
    med = raw.get("median_days_between_sessions")
    k["median_days_between_sessions"] = round(float(med), 2) if med is not None else None
    a, b = k["topics_mentor_to_mentee"], k["topics_mentee_to_mentor"]
    k["balance_index"] = _ratio(2 * min(a, b), a + b)
    k["goal_completion_rate"] = _ratio(k["goals_achieved"], k["goals_set"])
    avg = raw.get("average_rating")
    k["average_rating"] = round(float(avg), 2) if avg is not None else None
    k["nps"] = (
        round(100.0 * (k["promoters"] - k["detractors"]) / k["nps_responses"], 1)
        if k["nps_responses"]
        else None
    )
    return k


FAMILIES = (_participants, _pairs, _sessions, _goals, _feedback, _notifications)


async def figures(conn: Conn, scope: Scope, by: str | None = None) -> dict[str, dict[str, Any]]:
    """Figures per group (`by`), or under the single key 'all'."""
    if by is not None and by not in DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}")
    raw: dict[str, dict[str, Any]] = {}
    for family in FAMILIES:
        for rec in await family(conn, scope, by):
            raw.setdefault(rec["g"], {}).update({k: v for k, v in dict(rec).items() if k != "g"})
    if by is None:
        raw.setdefault("all", {})
    return {g: finish(v) for g, v in sorted(raw.items())}


def funnel(k: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"stage": "enrolled", "count": k["enrolled"]},
        {"stage": "proposed", "count": k["proposed"]},
        {"stage": "matched", "count": k["matched"]},
        {"stage": "met", "count": k["met"]},
    ]


# -- weekly series ----------------------------------------------------------------------------


def _week(expr: str) -> str:
    return f"(date_trunc('week', {expr} AT TIME ZONE 'UTC'))::date"


async def weekly(conn: Conn, scope: Scope) -> list[dict[str, Any]]:
    """One row per ISO week (Monday, UTC): flows of the week and stocks at the week's end."""
    raw: dict[date, dict[str, Any]] = {}

    async def run(sql_for: Any) -> None:
        q = Params()
        for rec in await conn.fetch(sql_for(q), *q.args):
            if rec["w"] is not None:
                raw.setdefault(rec["w"], {}).update({k: v for k, v in dict(rec).items() if k != "w"})

    unbounded = Scope(scope.cohort_id, scope.regions)  # stocks need history before the range

    await run(
        lambda q: (
            f"""
        SELECT {_week("p.enrolled_at")} AS w, count(*) AS enrolled
        FROM rm_participants p
        WHERE {
                where(
                    q,
                    unbounded,
                    region="p.region",
                    cohort="p.cohort_id",
                    at=None,
                    extra=["p.enrolled_at IS NOT NULL"],
                )
            } GROUP BY 1"""
        )
    )
    await run(
        lambda q: (
            f"""
        WITH firsts AS (
            SELECT pid, min(formed_at) AS at FROM (
                SELECT mentor_id AS pid, formed_at FROM rm_pairs
                UNION ALL SELECT mentee_id, formed_at FROM rm_pairs) x
            WHERE formed_at IS NOT NULL GROUP BY pid)
        SELECT {_week("f.at")} AS w, count(*) AS newly_matched
        FROM firsts f JOIN rm_participants p ON p.participant_id = f.pid
        WHERE {
                where(
                    q,
                    unbounded,
                    region="p.region",
                    cohort="p.cohort_id",
                    at=None,
                    extra=["p.enrolled_at IS NOT NULL"],
                )
            } GROUP BY 1"""
        )
    )

    def pair_w(q: Params, at: str) -> str:
        return where(
            q, unbounded, region="pr.region", cohort="pr.cohort_id", at=None, extra=[f"{at} IS NOT NULL"]
        )

    await run(
        lambda q: (
            f"""SELECT {_week("pr.formed_at")} AS w, count(*) AS pairs_formed
        FROM rm_pairs pr WHERE {pair_w(q, "pr.formed_at")} GROUP BY 1"""
        )
    )
    await run(
        lambda q: (
            f"""
        SELECT {_week("LEAST(pr.closed_at, pr.dissolved_at)")} AS w, count(*) AS pairs_closed
        FROM rm_pairs pr WHERE {pair_w(q, "pr.formed_at")}
          AND (pr.closed_at IS NOT NULL OR pr.dissolved_at IS NOT NULL) GROUP BY 1"""
        )
    )
    await run(
        lambda q: (
            f"""SELECT {_week("pr.agreement_confirmed_at")} AS w,
               count(*) AS agreements_confirmed
        FROM rm_pairs pr WHERE {pair_w(q, "pr.agreement_confirmed_at")} GROUP BY 1"""
        )
    )
    await run(
        lambda q: (
            f"""
        SELECT {_week("re.at")} AS w, count(*) AS at_risk_signals
        FROM rm_risk_events re LEFT JOIN rm_pairs pr USING (pair_id)
        WHERE re.signal AND {where(q, unbounded, region="pr.region", cohort="re.cohort_id", at=None)}
        GROUP BY 1"""
        )
    )
    await run(
        lambda q: (
            f"""
        WITH s AS (SELECT pair_id, cohort_id, held_at, topics_m2e, topics_e2m,
                          held_at - lag(held_at) OVER (PARTITION BY pair_id ORDER BY held_at) AS gap
                   FROM rm_sessions WHERE held_at IS NOT NULL)
        SELECT {_week("s.held_at")} AS w, count(*) AS sessions_held,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s.gap) / 86400.0)
                   AS median_days_between_sessions,
               coalesce(sum(s.topics_m2e), 0) AS topics_mentor_to_mentee,
               coalesce(sum(s.topics_e2m), 0) AS topics_mentee_to_mentor
        FROM s LEFT JOIN rm_pairs pr USING (pair_id)
        WHERE {where(q, unbounded, region="pr.region", cohort="s.cohort_id", at=None)} GROUP BY 1"""
        )
    )
    await run(
        lambda q: (
            f"""
        SELECT {_week("gl.achieved_at")} AS w, count(*) AS goals_achieved
        FROM rm_goals gl LEFT JOIN rm_pairs pr USING (pair_id)
        WHERE gl.achieved_at IS NOT NULL
          AND {where(q, unbounded, region="pr.region", cohort="gl.cohort_id", at=None)} GROUP BY 1"""
        )
    )
    await run(
        lambda q: (
            f"""
        SELECT {_week("gl.set_at")} AS w, count(*) AS goals_set
        FROM rm_goals gl LEFT JOIN rm_pairs pr USING (pair_id)
        WHERE gl.set_at IS NOT NULL
          AND {where(q, unbounded, region="pr.region", cohort="gl.cohort_id", at=None)} GROUP BY 1"""
        )
    )
    await run(
        lambda q: (
            f"""
        SELECT {_week("f.submitted_at")} AS w, count(*) AS feedback_responses,
               count(f.rating) AS rating_responses, avg(f.rating)::float8 AS average_rating,
               count(f.recommend_score) AS nps_responses,
               count(*) FILTER (WHERE f.recommend_score >= 9) AS promoters,
               count(*) FILTER (WHERE f.recommend_score <= 6) AS detractors
        FROM rm_feedback f LEFT JOIN rm_pairs pr USING (pair_id)
        WHERE {where(q, unbounded, region=_RESPONDENT_DIMS["region"], cohort="f.cohort_id", at=None)}
        GROUP BY 1"""
        )
    )
    await run(
        lambda q: (
            f"""
        SELECT {_week("nt.failed_at")} AS w, count(*) AS notifications_failed
        FROM rm_notifications nt
        LEFT JOIN LATERAL (
            SELECT region FROM rm_participants x
            WHERE x.participant_id = nt.recipient_id
               OR (x.employee_id = nt.recipient_id AND x.cohort_id = nt.cohort_id)
            ORDER BY (x.participant_id = nt.recipient_id) DESC LIMIT 1) rp ON TRUE
        WHERE nt.failed_at IS NOT NULL AND nt.sent_at IS NULL
          AND {where(q, unbounded, region="rp.region", cohort="nt.cohort_id", at=None)} GROUP BY 1"""
        )
    )

    if not raw:
        return []
    first, last = min(raw), max(raw)
    if scope.date_from is not None:
        last = max(last, scope.date_from)
    out: list[dict[str, Any]] = []
    enrolled = matched = formed = closed = 0
    week = first
    while week <= last:
        r = raw.get(week, {})
        enrolled += int(r.get("enrolled") or 0)
        matched += int(r.get("newly_matched") or 0)
        formed += int(r.get("pairs_formed") or 0)
        closed += int(r.get("pairs_closed") or 0)
        a, b = int(r.get("topics_mentor_to_mentee") or 0), int(r.get("topics_mentee_to_mentor") or 0)
        med = r.get("median_days_between_sessions")
        avg = r.get("average_rating")
        nps_n = int(r.get("nps_responses") or 0)
        row = {
            "week": week,
            "enrolled": int(r.get("enrolled") or 0),
            "enrolled_total": enrolled,
            "matched_total": matched,
            "match_rate": _ratio(matched, enrolled),
            "pairs_formed": int(r.get("pairs_formed") or 0),
            "pairs_closed": int(r.get("pairs_closed") or 0),
            "pairs_active_at_week_end": formed - closed,
            "at_risk_signals": int(r.get("at_risk_signals") or 0),
            "agreements_confirmed": int(r.get("agreements_confirmed") or 0),
            "sessions_held": int(r.get("sessions_held") or 0),
            "median_days_between_sessions": round(float(med), 2) if med is not None else None,
            "balance_index": _ratio(2 * min(a, b), a + b),
            "goals_set": int(r.get("goals_set") or 0),
            "goals_achieved": int(r.get("goals_achieved") or 0),
            "feedback_responses": int(r.get("feedback_responses") or 0),
            "average_rating": round(float(avg), 2) if avg is not None else None,
            "nps": (
                round(100.0 * (int(r.get("promoters") or 0) - int(r.get("detractors") or 0)) / nps_n, 1)
                if nps_n
                else None
            ),
            "notifications_failed": int(r.get("notifications_failed") or 0),
        }
        in_range = (scope.date_from is None or week + timedelta(days=6) >= scope.date_from) and (
            scope.date_to is None or week <= scope.date_to
        )
        if in_range:
            out.append(row)
        week += timedelta(days=7)
    return out


# -- lists --------------------------------------------------------------------------------------


async def at_risk_pairs(conn: Conn, scope: Scope, limit: int = 500) -> list[Any]:
    q = Params()
    w = where(
        q,
        scope,
        region="pr.region",
        cohort="pr.cohort_id",
        at=None,
        extra=["pr.closed_at IS NULL", "pr.dissolved_at IS NULL"],
    )
    sql = f"""
    WITH open_risk AS ({open_risks(q, scope)})
    SELECT pr.pair_id, pr.cohort_id, pr.relationship_id, pr.region, pr.department, pr.band,
           pr.mentor_name, pr.mentee_name, pr.formed_at, r.reasons, r.risks,
           (SELECT max(held_at) FROM rm_sessions s WHERE s.pair_id = pr.pair_id) AS last_session_at,
           (SELECT count(held_at) FROM rm_sessions s WHERE s.pair_id = pr.pair_id) AS sessions_held
    FROM rm_pairs pr JOIN open_risk r USING (pair_id)
    WHERE {w}
    ORDER BY (SELECT min((x->>'since')::timestamptz) FROM jsonb_array_elements(r.risks) x), pr.pair_id
    LIMIT {q(limit)}"""
    return await conn.fetch(sql, *q.args)


PAIR_EXPORT_SQL = """
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
           COALESCE(pr.closed_at, pr.dissolved_at) AS closed_at, pr.outcome,
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


def export_query(dataset: str, scope: Scope) -> tuple[str, list[Any]]:
    q = Params()
    if dataset == "pairs":
        w = where(q, scope, region="pr.region", cohort="pr.cohort_id", at="pr.formed_at")
        risks = open_risks(q, scope)
        return PAIR_EXPORT_SQL.format(open_risks=risks, where=w), q.args
    if dataset == "participants":
        w = where(
            q,
            scope,
            region="p.region",
            cohort="p.cohort_id",
            at="p.enrolled_at",
            extra=["p.enrolled_at IS NOT NULL"],
        )
        return (
            f"""
        SELECT p.participant_id, p.cohort_id, p.employee_id, p.role, p.region, p.department,
               p.seniority_level, p.band, p.enrolled_at, p.withdrawn_at,
               EXISTS (SELECT 1 FROM rm_pairs x WHERE x.mentor_id = p.participant_id)
               OR EXISTS (SELECT 1 FROM rm_pairs x WHERE x.mentee_id = p.participant_id) AS matched
        FROM rm_participants p WHERE {w} ORDER BY p.cohort_id, p.participant_id""",
            q.args,
        )
    if dataset == "sessions":
        w = where(q, scope, region="pr.region", cohort="s.cohort_id", at="COALESCE(s.held_at, s.starts_at)")
        return (
            f"""
        SELECT s.session_id, s.pair_id, s.cohort_id, pr.region,
               CASE WHEN s.held_at IS NOT NULL THEN 'held'
                    WHEN s.cancelled_at IS NOT NULL
                         AND s.cancelled_at >= COALESCE(s.scheduled_at, s.cancelled_at) THEN 'cancelled'
                    ELSE 'scheduled' END AS status,
               s.starts_at, s.held_at, s.duration_minutes, s.topics_m2e AS topics_mentor_to_mentee,
               s.topics_e2m AS topics_mentee_to_mentor, s.action_items
        FROM rm_sessions s LEFT JOIN rm_pairs pr USING (pair_id)
        WHERE {w} ORDER BY s.cohort_id, s.pair_id, COALESCE(s.held_at, s.starts_at), s.session_id""",
            q.args,
        )
    raise ValueError(dataset)


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
