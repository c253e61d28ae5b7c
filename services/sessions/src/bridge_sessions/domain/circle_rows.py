"""The stored shapes of mentoring circles, as typed rows (as domain/rows.py is for pairs): `db/`
builds them from records, `app/` and `domain/` read them, `api/` shapes responses from them.

Actors (who drafted, scheduled, cancelled, recorded) are participant ids, as the circle events name
people; the employee id, which tokens carry, is only on the member row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypedDict
from uuid import UUID

Generation = Literal["junior", "senior", "other"]
CircleRisk = Literal["falling_attendance", "dominant_voice", "inactive"]
CIRCLE_RISKS: tuple[CircleRisk, ...] = ("falling_attendance", "dominant_voice", "inactive")


class IdeaData(TypedDict):
    """One idea of an activity's outcome, attributed to the member who brought it."""

    participant_id: str
    text: str


class LearningData(TypedDict):
    """Who taught what to whom: one topic from one member to another, with both generations."""

    from_id: str
    to_id: str
    from_generation: str
    to_generation: str
    topic: str


@dataclass(frozen=True, slots=True)
class CircleMemberRow:
    circle_id: str
    participant_id: str
    position: int
    employee_id: str
    display_name: str
    email: str
    region: str
    generation: str
    timezone: str
    locale: str
    erased_at: datetime | None

    @property
    def active(self) -> bool:
        """Still a member: not erased (an erased member's row stays, pseudonymous, for the figures)."""
        return self.erased_at is None


@dataclass(frozen=True, slots=True)
class CircleRecord:
    """One row of `circles`."""

    id: str
    cohort_id: str
    facilitator_id: str
    language: str
    weekly_slot: dict[str, Any] | None
    status: str
    planned_end: date | None
    hr_contact_email: str | None
    started_at: datetime
    closed_at: datetime | None
    outcome: str | None
    close_reason: str | None
    closed_by: str | None
    anonymised_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CircleRow(CircleRecord):
    """A circle with its members (in the order matching formed it, erased ones included)."""

    members: tuple[CircleMemberRow, ...]

    @property
    def active_members(self) -> tuple[CircleMemberRow, ...]:
        return tuple(m for m in self.members if m.active)

    @property
    def member_ids(self) -> list[str]:
        """The participant ids of the current members: who every circle event is about."""
        return [m.participant_id for m in self.active_members]

    @property
    def member_timezones(self) -> dict[str, str]:
        return {m.participant_id: m.timezone for m in self.active_members}

    @property
    def regions(self) -> list[str]:
        return sorted({m.region for m in self.active_members})

    def member(self, participant_id: str) -> CircleMemberRow | None:
        """The current member with this participant id, if any."""
        return next((m for m in self.active_members if m.participant_id == participant_id), None)

    def member_for_employee(self, employee_id: str) -> CircleMemberRow | None:
        return next((m for m in self.active_members if m.employee_id == employee_id), None)

    def generation_of(self, participant_id: str) -> str:
        found = next((m for m in self.members if m.participant_id == participant_id), None)
        return found.generation if found is not None else "other"


@dataclass(frozen=True, slots=True)
class CircleView(CircleRow):
    """A circle with the version of its agreement in force and its open risks."""

    agreement_version: int | None
    open_risks: list[str]


@dataclass(frozen=True, slots=True)
class CircleAgreementTerms:
    """What one version of a circle agreement says (each member's personal goal aside)."""

    shared_goals: list[str]
    cadence_days: int
    rules_of_engagement: str | None
    end_date: date


@dataclass(frozen=True, slots=True)
class CircleAgreementMemberRow:
    """One member's part of one version: their personal goal and their confirmation."""

    participant_id: str
    personal_goal: str | None
    confirmed_at: datetime | None


@dataclass(frozen=True, slots=True)
class CircleAgreementRow(CircleAgreementTerms):
    circle_id: str
    version: int
    status: str
    drafted_by: str
    drafted_at: datetime
    activated_at: datetime | None
    members: tuple[CircleAgreementMemberRow, ...]

    def part_of(self, participant_id: str) -> CircleAgreementMemberRow | None:
        return next((m for m in self.members if m.participant_id == participant_id), None)

    def confirmed_by(self, participant_id: str) -> bool:
        part = self.part_of(participant_id)
        return part is not None and part.confirmed_at is not None

    def confirmed_by_all(self, member_ids: list[str]) -> bool:
        """Every current member confirmed this version."""
        return all(self.confirmed_by(p) for p in member_ids)


@dataclass(frozen=True, slots=True)
class CircleSessionRow:
    id: UUID
    circle_id: str
    status: str
    starts_at: datetime
    duration_minutes: int
    location: str | None
    activity_id: str | None
    ical_uid: str
    ical_sequence: int
    scheduled_by: str
    cancelled_by: str | None
    cancel_reason: str | None
    cancelled_at: datetime | None
    held_at: datetime | None
    recorded_by: str | None
    logged: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CircleSessionDetail:
    """A session with what was recorded when it was held (empty before)."""

    session: CircleSessionRow
    attended_ids: list[str]
    absent_ids: list[str]
    ideas: list[IdeaData]
    learning: list[LearningData]


@dataclass(frozen=True, slots=True)
class CircleSignalRow:
    id: int
    circle_id: str
    reason: str
    detail: str
    detected_at: datetime
    escalate_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class AttendanceRow:
    """One held session's attendance: members present of members at the time."""

    present: int
    total: int


@dataclass(frozen=True, slots=True)
class CircleHealthStatsRow:
    """An open circle with what the health assessment needs (see db.circle_health.stats)."""

    circle_id: str
    cohort_id: str
    started_at: datetime
    members: int
    """Current members."""
    cohort_threshold: int | None
    end_date: date | None
    """The agreement in force's end date, else the planned end (programme_end)."""
    last_held_at: datetime | None
    recent_attendance: list[AttendanceRow]
    """The last `attendance window` held sessions, latest first."""
    recent_contributors: list[str]
    """One participant id per idea brought and per learning given, over the last `dominance window`
    held sessions."""
