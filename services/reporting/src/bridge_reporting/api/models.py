"""Response models of the /reports endpoints (the published JSON shapes)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from bridge_reporting.domain.scope import Scope


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


class WeekRow(BaseModel):
    week: date = Field(description="Monday (UTC) the ISO week starts on")
    enrolled: int
    enrolled_total: int
    matched_total: int
    match_rate: float | None
    pairs_formed: int
    pairs_closed: int
    pairs_active_at_week_end: int
    at_risk_signals: int
    agreements_confirmed: int
    sessions_held: int
    median_days_between_sessions: float | None
    balance_index: float | None
    goals_set: int
    goals_achieved: int
    feedback_responses: int
    average_rating: float | None
    nps: float | None
    notifications_failed: int


class Weekly(BaseModel):
    filters: Filters
    weeks: list[WeekRow]


class Risk(BaseModel):
    reason: str
    detail: str | None
    since: datetime


class AtRiskPair(BaseModel):
    pair_id: str
    cohort_id: str
    relationship_id: str | None
    region: str | None
    department: str | None
    band: str | None
    mentor_name: str | None
    mentee_name: str | None
    formed_at: datetime | None
    reasons: list[str]
    risks: list[Risk]
    last_session_at: datetime | None
    sessions_held: int


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
