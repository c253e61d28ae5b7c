"""Response models of the /reports endpoints (the published JSON shapes). Rows that a use case
returns as they are published (a week, an at-risk pair) are defined once, in domain/, and
re-exported here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from bridge_reporting.domain.pairs import AtRiskPair, FlaggedPair, Risk
from bridge_reporting.domain.scope import Scope
from bridge_reporting.domain.weekly import WeekRow

__all__ = ["AtRiskPair", "FlaggedPair", "Risk", "WeekRow"]  # defined in domain/, published as they are


class Kpis(BaseModel):
    enrolled: int = Field(description="participants enrolled (withdrawn ones included)")
    withdrawn: int
    leavers: int = Field(
        description="enrolled participants who left the company (matching.person.left), whatever became "
        "of their enrolment"
    )
    movers: int = Field(
        description="enrolled participants whose HR-owned fields changed (matching.person.moved: a new "
        "manager, department, region, ...)"
    )
    mentors: int
    mentees: int
    proposed: int = Field(description="enrolled participants who were in a proposal or a pair")
    matched: int = Field(description="enrolled participants who are (or were) in a pair")
    met: int = Field(description="enrolled participants in a pair that has held a session")
    match_rate: float | None = Field(
        description="matched / enrolled: the share of enrolled participants who are or were in a formed "
        "pair (null when none enrolled); the same definition in every report"
    )
    pairs_formed: int
    pairs_active: int = Field(description="formed, not closed or dissolved (at-risk ones included)")
    pairs_at_risk: int = Field(description="active pairs with at least one open risk signal")
    pairs_closed: int = Field(
        description="closed by sessions or dissolved by matching: pairs_completed + pairs_ended_early + "
        "pairs_left_company"
    )
    pairs_completed: int = Field(description="ended at their end date (outcome completed)")
    pairs_ended_early: int = Field(
        description="ended before their end date by a participant, HR or matching, for any reason but "
        "someone leaving the company"
    )
    pairs_left_company: int = Field(
        description="ended because one of the two left the company (outcome left_company)"
    )
    pairs_flagged: int = Field(
        description="active pairs matching flagged for HR after a move broke a rule (management chain); "
        "listed at /reports/flagged-pairs"
    )
    relationships_started: int
    agreements_confirmed: int
    agreement_confirmation_rate: float | None = Field(
        description="started relationships with a confirmed agreement / started relationships"
    )
    sessions_held: int
    median_days_between_sessions: float | None = Field(
        description="median gap between consecutive held sessions of the same pair"
    )
    topics_mentor_to_mentee: int
    topics_mentee_to_mentor: int
    balance_index: float | None = Field(
        description="2 * min(a, b) / (a + b) over held sessions' topics; 1 = perfectly two-way"
    )
    goals_set: int
    goals_achieved: int
    goals_abandoned: int
    goal_completion_rate: float | None = Field(description="goals achieved / goals set")
    feedback_responses: int
    rating_responses: int
    average_rating: float | None = Field(description="mean 1-5 rating over feedback with a rating")
    nps_responses: int
    promoters: int
    detractors: int
    nps: float | None = Field(description="100 * (promoters 9-10 - detractors 0-6) / responses")
    notifications_sent: int
    notifications_failed: int = Field(description="notifications whose last outcome is a failure")
    notifications_failed_permanent: int
    # Mentoring circles (issue 15): attributed to their members as at circle.formed (README).
    circles_formed: int = Field(
        description="circles every member accepted; by region/department/band: circles with a member there"
    )
    circles_active: int = Field(description="formed circles not closed or dissolved")
    circles_closed: int = Field(description="formed circles closed by sessions or dissolved by matching")
    circle_memberships: int = Field(
        description="members of formed circles (a person in two circles counts twice)"
    )
    circle_sessions_held: int = Field(description="group sessions held")
    circle_attendance_expected: int = Field(
        description="members of held group sessions, summed over sessions"
    )
    circle_attended: int = Field(description="members who attended held group sessions, summed over sessions")
    circle_attendance_rate: float | None = Field(
        description="circle_attended / circle_attendance_expected: attended / members over held sessions"
    )
    learning_flows: int = Field(
        description="learning flows recorded in held group sessions (who taught what to whom); by "
        "region/department/band: attributed to the member who learned"
    )
    learning_junior_to_senior: int = Field(description="flows from a junior member to a senior one")
    learning_senior_to_junior: int = Field(description="flows from a senior member to a junior one")
    learning_other: int = Field(
        description="flows within one generation or with a member counted as neither junior nor senior"
    )
    learning_share_junior_to_senior: float | None = Field(
        description="learning_junior_to_senior / learning_flows (null without flows)"
    )
    learning_share_senior_to_junior: float | None = Field(
        description="learning_senior_to_junior / learning_flows (null without flows)"
    )
    learning_share_other: float | None = Field(description="learning_other / learning_flows")
    cross_generation_exchange_index: float | None = Field(
        description="2 * min(j2s, s2j) / (j2s + s2j) over junior->senior and senior->junior flows: "
        "1 = learning flows both ways equally, 0 = one way only; null when no flow crossed generations"
    )


class FunnelStage(BaseModel):
    stage: str
    count: int


class Filters(BaseModel):
    cohort_id: str | None
    regions: list[str] | None = Field(description="regions in scope; null = all regions")
    date_from: date | None
    date_to: date | None


class Overview(BaseModel):
    filters: Filters
    cohort_name: str | None = Field(
        None, description="the name of filters.cohort_id's cohort (null: no cohort chosen, or not known)"
    )
    kpis: Kpis
    funnel: list[FunnelStage]


class BreakdownRow(Kpis):
    group: str = Field(description="the group's key: a region, department, band or cohort id, or (unknown)")
    label: str = Field(
        description="what to show for the group: the cohort's name for a cohort (its id until the cohort "
        "is known), else the key"
    )


class Breakdown(BaseModel):
    filters: Filters
    by: str
    rows: list[BreakdownRow]


class Weekly(BaseModel):
    filters: Filters
    weeks: list[WeekRow]


class TimelineEntry(BaseModel):
    event_id: str
    occurred_at: datetime
    type: str
    summary: str
    detail: dict[str, Any]  # the event payload (contact details removed): JSON of any shape


class Timeline(BaseModel):
    pair_id: str
    cohort_id: str
    cohort_name: str | None = None
    region: str | None
    mentor_name: str | None
    mentee_name: str | None
    status: str
    events: list[TimelineEntry]


def _same_as(field: str) -> dict[str, Any]:
    return {
        "description": f"the same figure as kpis.{field} (kept for callers of the first slice)",
        "json_schema_extra": {"deprecated": True},
    }


class CohortSummary(BaseModel):
    # A cohort's header and its figures, as /cohorts/{id}/summary publishes them (no docstring: it
    # would change the OpenAPI document). kpis and funnel are /reports/overview?cohort_id=<id> in the
    # caller's scope, computed by the same code; the flat fields are the same figures again.
    cohort_id: str
    name: str
    regions: list[str]
    kpis: Kpis = Field(description="the figures of /reports/overview for this cohort, in your scope")
    funnel: list[FunnelStage]
    participants: int = Field(**_same_as("enrolled"))
    mentors: int = Field(**_same_as("mentors"))
    mentees: int = Field(**_same_as("mentees"))
    pairs_active: int = Field(**_same_as("pairs_active"))
    matched_participants: int = Field(**_same_as("matched"))
    match_rate: float | None = Field(**_same_as("match_rate"))


def filters_of(scope: Scope) -> Filters:
    return Filters(
        cohort_id=scope.cohort_id,
        regions=list(scope.regions) if scope.regions is not None else None,
        date_from=scope.date_from,
        date_to=scope.date_to,
    )
