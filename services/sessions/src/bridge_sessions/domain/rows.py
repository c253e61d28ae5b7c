"""The stored shapes sessions works with, as typed rows: `db/` builds them from records
(`SessionRow(**record)`), `app/` and `domain/` read them, `api/` shapes responses from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, TypedDict
from uuid import UUID

Side = Literal["mentor", "mentee"]
SIDES: tuple[Side, Side] = ("mentor", "mentee")


class Topic(TypedDict):
    """One topic of a held session (jsonb in `sessions.topics`)."""

    topic: str
    direction: str


class ActionItemData(TypedDict):
    """One action item of a held session (jsonb in `sessions.action_items`); `due` is ISO or null."""

    text: str
    owner: str
    due: str | None


class LearningPlanData(TypedDict):
    """One side's learning plan (jsonb in `agreements.mentor_learning` / `mentee_learning`)."""

    learning_goals: list[str]
    success_metrics: list[str]
    offers: str | None


@dataclass(frozen=True, slots=True)
class RelationshipRow:
    id: UUID
    pair_id: str
    cohort_id: str
    mentor_id: str
    mentor_employee_id: str
    mentor_name: str
    mentor_timezone: str
    mentee_id: str
    mentee_employee_id: str
    mentee_name: str
    mentee_timezone: str
    region: str
    status: str
    planned_end: date | None
    hr_contact_email: str | None
    started_at: datetime
    created_at: datetime
    mentor_email: str | None
    mentee_email: str | None
    closed_at: datetime | None
    outcome: str | None
    close_reason: str | None
    closed_by: str | None
    mentor_region: str | None
    mentee_region: str | None
    anonymised_at: datetime | None
    left_participant_id: str | None
    """Who of the two left the company, when that ended the relationship (migration 0007)."""

    def region_of(self, side: Side) -> str | None:
        """The person's home region (None where it was never learnt: see migration 0003)."""
        return self.mentor_region if side == "mentor" else self.mentee_region

    @property
    def regions(self) -> tuple[str | None, str | None]:
        return (self.mentor_region, self.mentee_region)

    def timezone_of(self, side: Side) -> str:
        return self.mentor_timezone if side == "mentor" else self.mentee_timezone

    def participant_id_of(self, side: Side) -> str:
        return self.mentor_id if side == "mentor" else self.mentee_id

    def employee_id_of(self, side: Side) -> str:
        return self.mentor_employee_id if side == "mentor" else self.mentee_employee_id


@dataclass(frozen=True, slots=True)
class RelationshipView(RelationshipRow):
    """A relationship with the version of its agreement in force and its open risks."""

    agreement_version: int | None
    open_risks: list[str]


@dataclass(frozen=True, slots=True)
class HealthStatsRow(RelationshipRow):
    """An open relationship with what the health assessment needs (see db.health.stats)."""

    cohort_threshold: int | None
    cadence_days: int | None
    agreement_start: date | None
    agreement_end: date | None
    last_held_at: datetime | None
    held_since_start: int
    recent_topics: list[list[Topic]]


@dataclass(frozen=True, slots=True)
class AgreementTerms:
    """What one version of an agreement says, as drafted."""

    mentor_learning: LearningPlanData
    mentee_learning: LearningPlanData
    cadence_days: int
    meeting_mode: str
    meeting_place: str | None
    rules_of_engagement: list[str]
    start_date: date
    end_date: date


@dataclass(frozen=True, slots=True)
class AgreementRow(AgreementTerms):
    """One version of a relationship's agreement: its terms, its state and who confirmed it when."""

    relationship_id: UUID
    version: int
    status: str
    drafted_by: str
    mentor_confirmed_at: datetime | None
    mentee_confirmed_at: datetime | None
    drafted_at: datetime
    activated_at: datetime | None

    def confirmed_by(self, side: Side) -> bool:
        return (self.mentor_confirmed_at if side == "mentor" else self.mentee_confirmed_at) is not None

    @property
    def confirmed_by_both(self) -> bool:
        return self.mentor_confirmed_at is not None and self.mentee_confirmed_at is not None


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: UUID
    relationship_id: UUID
    status: str
    starts_at: datetime
    duration_minutes: int
    location: str | None
    ical_uid: str
    ical_sequence: int
    scheduled_by: str
    cancelled_by: str | None
    cancel_reason: str | None
    cancelled_at: datetime | None
    held_at: datetime | None
    actual_duration_minutes: int | None
    topics: list[Topic]
    shared_notes: str | None
    action_items: list[ActionItemData]
    recorded_by: str | None
    created_at: datetime
    updated_at: datetime
    shared_notes_by: str | None
    logged: bool = False  # recorded after it happened: never scheduled, no invite


@dataclass(frozen=True, slots=True)
class HeldTopicsRow:
    held_at: datetime
    topics: list[Topic]


@dataclass(frozen=True, slots=True)
class GoalRow:
    id: UUID
    relationship_id: UUID
    owner_side: Side
    owner_participant_id: str
    title: str
    description: str | None
    success_measure: str | None
    status: str
    created_at: datetime
    closed_at: datetime | None
    close_note: str | None


@dataclass(frozen=True, slots=True)
class CheckInRow:
    id: UUID
    rating: int
    note: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    id: UUID
    relationship_id: UUID
    kind: str
    by_side: Side
    by_participant_id: str
    session_id: UUID | None
    rating: int | None
    recommend_score: int | None
    comment: str | None
    learned: str | None
    taught: str | None
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class SignalRow:
    id: int
    relationship_id: UUID
    reason: str
    detail: str
    detected_at: datetime
    resolved_at: datetime | None
    end_date: date | None = None  # the end date an ending_soon announced (migration 0006)
