"""Response models of the /reports endpoints (the published JSON shapes). Rows that a use case
returns as they are published (a week, an at-risk pair) are defined once, in domain/, and
re-exported here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from bridge_reporting.domain.pairs import AtRiskPair, Risk
from bridge_reporting.domain.scope import Scope
from bridge_reporting.domain.weekly import WeekRow

__all__ = ["AtRiskPair", "Risk", "WeekRow"]  # defined in domain/, published as they are


class Kpis(BaseModel):
    enrolled: int = Field(description="participants enrolled (withdrawn ones included)")
    withdrawn: int
    mentors: int
    mentees: int
    proposed: int = Field(description="enrolled participants who were in a proposal or a pair")
    matched: int = Field(description="enrolled participants who are (or were) in a pair")
    met: int = Field(description="enrolled participants in a pair that has held a session")
    match_rate: float | None = Field(description="matched / enrolled")
    pairs_formed: int
    pairs_active: int = Field(description="formed, not closed or dissolved (at-risk ones included)")
    pairs_at_risk: int = Field(description="active pairs with at least one open risk signal")
    pairs_closed: int = Field(description="closed by sessions or dissolved by matching")
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
    kpis: Kpis
    funnel: list[FunnelStage]


class BreakdownRow(Kpis):
    group: str


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
    region: str | None
    mentor_name: str | None
    mentee_name: str | None
    status: str
    events: list[TimelineEntry]


def filters_of(scope: Scope) -> Filters:
    return Filters(
        cohort_id=scope.cohort_id,
        regions=list(scope.regions) if scope.regions is not None else None,
        date_from=scope.date_from,
        date_to=scope.date_to,
    )
