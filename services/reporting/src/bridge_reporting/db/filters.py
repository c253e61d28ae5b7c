"""The WHERE clause every report query shares, and the attribution of rows to a group.

Attribution (documented in the README):
- participant figures (enrolled, matched, match rate, funnel) use the participant's own region,
  department and seniority band;
- pair figures (pairs, agreements, sessions, balance, goals) use the pair's region, department and
  band, which are the mentee's (the senior leader being reverse-mentored), as at pair.formed;
- feedback figures (rating, NPS) use the respondent's side of the pair;
- notification figures use the recipient (a participant id or employee id) when it is known;
- mentoring circles' figures use their members (as at circle.formed): a circle counts in the group
  of each of its members (a circle of three regions is active in each), its members and attendance
  in the member's own group, and a learning flow in the group of the member who learned (as a pair's
  figures are the mentee's: the one reverse-mentored).
Regional HR see rows whose attributed region is one of theirs (a circle's: its members in their
regions); rows with no known region are visible to global HR only. A pair's rows are in scope when
either person's region is (the one region rule, docs/access.md: a cross-region pair counts in each of
its regions' scope); grouped by region,
they count under the pair's attributed (mentee's) region, or, when regions are in scope, under
whichever of its two regions is in scope.

Queries are module constants with `{placeholders}` filled only from this module's constant column
expressions and `$n` parameter markers: every value a caller supplies is a bind parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bridge_reporting.domain.kpis import UNKNOWN
from bridge_reporting.domain.scope import Dimension, Scope


class Params:
    """Collects bind parameters; calling it with a value returns its `$n` marker."""

    def __init__(self) -> None:
        self.args: list[Any] = []  # Any: bind values of the query's own types

    def __call__(self, value: object) -> str:
        self.args.append(value)
        return f"${len(self.args)}"


def where(
    q: Params,
    scope: Scope,
    *,
    region: str,
    cohort: str,
    at: str | None,
    extra: Sequence[str] = (),
    also_in: Sequence[str] = (),
) -> str:
    """The shared WHERE clause; a row is in the regions of `scope` when `region` or any of the
    `also_in` region expressions is one of them."""
    conds = list(extra)
    if scope.cohort_id is not None:
        conds.append(f"{cohort} = {q(scope.cohort_id)}")
    if scope.regions is not None:
        marker = q(list(scope.regions))
        conds.append("(" + " OR ".join(f"{r} = ANY({marker}::text[])" for r in (region, *also_in)) + ")")
    if at is not None and scope.date_from is not None:
        conds.append(f"{at} >= {q(scope.date_from)}::date::timestamptz")
    if at is not None and scope.date_to is not None:
        conds.append(f"{at} < ({q(scope.date_to + timedelta(days=1))}::date)::timestamptz")
    return " AND ".join(conds) or "TRUE"


@dataclass(frozen=True, slots=True)
class Attribution:
    """The column expressions a family of rows is grouped and filtered by."""

    region: str
    department: str
    band: str
    cohort: str
    also_in: tuple[str, ...] = ()
    """Further region expressions that put a row in scope (a pair's mentor's region)."""

    def group(self, by: Dimension | None, q: Params | None = None, scope: Scope | None = None) -> str:
        """The group expression. By region with regions in scope, a cross-region pair counts under its
        region that is in scope (the mentee's first), so each region's HR sees it under their own."""
        if by is None:
            return "'all'"
        if by == "region" and self.also_in and q is not None and scope is not None and scope.regions:
            marker = q(list(scope.regions))
            picks = " ".join(
                f"WHEN {r} = ANY({marker}::text[]) THEN {r}" for r in (self.region, *self.also_in)
            )
            return f"COALESCE(CASE {picks} END, '{UNKNOWN}')"
        return f"COALESCE({getattr(self, by)}, '{UNKNOWN}')"

    def where(
        self, q: Params, scope: Scope, *, at: str | None, extra: Sequence[str] = (), cohort: str | None = None
    ) -> str:
        return where(
            q,
            scope,
            region=self.region,
            cohort=cohort or self.cohort,
            at=at,
            extra=extra,
            also_in=self.also_in,
        )


PARTICIPANT = Attribution("p.region", "p.department", "p.band", "p.cohort_id")
PAIR = Attribution("pr.region", "pr.department", "pr.band", "pr.cohort_id", also_in=("pr.mentor_region",))
RESPONDENT = Attribution(
    region="CASE WHEN f.by_side = 'mentor' THEN pr.mentor_region ELSE pr.region END",
    department="CASE WHEN f.by_side = 'mentor' THEN pr.mentor_department ELSE pr.department END",
    band="CASE WHEN f.by_side = 'mentor' THEN pr.mentor_band ELSE pr.band END",
    cohort="f.cohort_id",
)
RECIPIENT = Attribution("rp.region", "rp.department", "rp.band", "nt.cohort_id")


def circle_member(cohort: str) -> Attribution:
    """Rows of a circle grouped by one of its members (rm_circle_members cm: a circle's members, an
    attendance's member, a flow's learner), and by their own cohort column."""
    return Attribution("cm.region", "cm.department", "cm.band", cohort)


def pair_attributed(cohort: str) -> Attribution:
    """Rows of a pair (sessions, goals) grouped by the pair, but by their own cohort column."""
    return Attribution(PAIR.region, PAIR.department, PAIR.band, cohort, also_in=PAIR.also_in)


OPEN_RISKS = """
    SELECT pair_id, array_agg(reason ORDER BY reason) AS reasons,
           jsonb_agg(jsonb_build_object('reason', reason, 'detail', detail, 'since', at)
                     ORDER BY reason) AS risks
    FROM (SELECT DISTINCT ON (pair_id, reason) pair_id, reason, signal, detail, at
          FROM rm_risk_events {where} ORDER BY pair_id, reason, at DESC, signal ASC) latest
    WHERE signal GROUP BY pair_id"""


def open_risks(q: Params, *, cohort_id: str | None = None, pair_id: str | None = None) -> str:
    """Open risk reasons per pair: the latest signal/resolution per (pair, reason) is a signal."""
    conds = []
    if cohort_id is not None:
        conds.append(f"cohort_id = {q(cohort_id)}")
    if pair_id is not None:
        conds.append(f"pair_id = {q(pair_id)}")
    return OPEN_RISKS.format(where=("WHERE " + " AND ".join(conds)) if conds else "")


# The recipient of a notification: the participant it names, else the employee in its cohort.
RECIPIENT_JOIN = """
    LEFT JOIN LATERAL (
        SELECT region, department, band FROM rm_participants x
        WHERE x.participant_id = nt.recipient_id
           OR (x.employee_id = nt.recipient_id AND x.cohort_id = nt.cohort_id)
        ORDER BY (x.participant_id = nt.recipient_id) DESC LIMIT 1) rp ON TRUE"""

# Held sessions with the gap since the pair's previous one ({cohort}: an optional filter).
HELD_SESSIONS = """
    SELECT pair_id, cohort_id, held_at, topics_m2e, topics_e2m,
           held_at - lag(held_at) OVER (PARTITION BY pair_id ORDER BY held_at) AS gap
    FROM rm_sessions WHERE held_at IS NOT NULL {cohort}"""

SESSION_FIGURES = """
           count(*) AS sessions_held,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s.gap) / 86400.0)
               AS median_days_between_sessions,
           coalesce(sum(s.topics_m2e), 0) AS topics_mentor_to_mentee,
           coalesce(sum(s.topics_e2m), 0) AS topics_mentee_to_mentor"""

FEEDBACK_FIGURES = """
           count(*) AS feedback_responses,
           count(f.rating) AS rating_responses,
           avg(f.rating)::float8 AS average_rating,
           count(f.recommend_score) AS nps_responses,
           count(*) FILTER (WHERE f.recommend_score >= 9) AS promoters,
           count(*) FILTER (WHERE f.recommend_score <= 6) AS detractors"""
