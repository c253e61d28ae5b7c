"""What the repositories return: one frozen dataclass per stored row (columns of the table, by name).

JSON columns keep the shapes written into them; where a shape is open (run statistics, an import's
report, the cohort's stored policy) it is `dict[str, Any]`, because those are documents, not columns.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, TypedDict

from bridge_shared.contracts.common import Role

Side = Literal["mentor", "mentee"]
RunStatus = Literal["queued", "running", "draft", "failed", "published", "superseded"]
RunOrigin = Literal["hr", "auto_rematch"]  # who started a run: HR, or a decline/expiry (auto_rematch)


class WindowData(TypedDict):
    weekday: int
    start: str
    end: str


class FailedAttemptData(TypedDict):
    """One failed attempt of a matching run (matching_runs.failed_attempts)."""

    attempt: int  # the run's attempt number (its `attempts` count when it failed)
    stage: str  # snapshot (reading the cohort), solve, or write (storing the draft)
    error: str  # the exception's type and message
    transient: bool  # retried (with backoff) unless the attempts were used up
    at: str  # ISO 8601
    retry_in_seconds: float | None  # the backoff before the next attempt; None: the run failed


class UnmatchedData(TypedDict):
    participant_id: str
    employee_id: str
    reason_code: str
    reason: str


@dataclass(frozen=True, slots=True)
class CohortRow:
    id: uuid.UUID
    name: str
    regions: list[str]
    hr_contact_email: str
    enrolment_opens: date | None
    enrolment_closes: date | None
    matching_date: date | None
    programme_start: date | None
    programme_end: date | None
    phase: str
    policy: dict[str, Any]  # Any: the stored policy document (validated through PolicyIn when read)
    inactivity_threshold_days: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    skill_taxonomy: list[str]
    phase_changed_at: datetime
    formats: list[str] = field(default_factory=lambda: ["pairs"])  # pairs, circles (migration 0011)


@dataclass(frozen=True, slots=True)
class ParticipantRow:
    id: uuid.UUID
    cohort_id: uuid.UUID
    employee_id: str
    role: Role  # the column's CHECK allows exactly these
    display_name: str
    email: str
    seniority_level: int
    department: str
    manager_employee_id: str | None
    region: str
    languages: list[str]
    timezone: str
    locale: str
    availability: list[WindowData]
    skills_to_share: list[str]
    skills_to_learn: list[str]
    meeting_preference: str
    capacity: int
    requested_partners: list[str]
    blocked_partners: list[str]
    status: str
    created_at: datetime
    updated_at: datetime
    withdrawn_at: datetime | None
    withdrawn_reason: str | None
    facilitator_eligible: bool = False  # HR marks who may facilitate a circle (migration 0011)


@dataclass(frozen=True, slots=True)
class ImportJobRow:
    id: uuid.UUID
    cohort_id: uuid.UUID
    status: str
    total: int
    processed: int
    report: dict[str, Any] | None  # Any: the report document (counts and rejected rows)
    error: str | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    source: str | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    attempts: int


@dataclass(frozen=True, slots=True)
class RunRow:
    id: uuid.UUID
    cohort_id: uuid.UUID
    status: RunStatus  # the column's CHECK allows exactly these
    stats: dict[str, Any]  # Any: the run's statistics document (see domain.matching.run_stats)
    unmatched: list[UnmatchedData]
    created_by: str
    created_at: datetime
    published_at: datetime | None
    published_by: str | None
    updated_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    attempts: int
    error: str | None
    finished_at: datetime | None
    origin: RunOrigin = "hr"  # the column's CHECK allows exactly these
    reason: str | None = None  # why an automatic run was queued (ids, never names)
    failed_attempts: list[FailedAttemptData] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DraftPairRow:
    id: uuid.UUID
    run_id: uuid.UUID
    mentor_id: uuid.UUID
    mentee_id: uuid.UUID
    mentor_employee_id: str
    mentee_employee_id: str
    score: float
    breakdown: dict[str, float]
    explanation: str
    violations: list[str]
    pinned: bool
    removed: bool
    origin: str


@dataclass(frozen=True, slots=True)
class NewProposal:
    """A scored pair to store: a proposal, or (with the fields below) a draft pair."""

    mentor_id: uuid.UUID
    mentee_id: uuid.UUID
    score: float
    breakdown: dict[str, float]
    explanation: str


@dataclass(frozen=True, slots=True)
class NewDraftPair(NewProposal):
    violations: list[str]
    pinned: bool
    origin: str


@dataclass(frozen=True, slots=True)
class ProposalRow:
    id: uuid.UUID
    cohort_id: uuid.UUID
    run_id: uuid.UUID | None
    source: str
    requested_by: uuid.UUID | None
    mentor_id: uuid.UUID
    mentee_id: uuid.UUID
    score: float
    breakdown: dict[str, float]
    explanation: str
    status: str
    mentor_response: str | None
    mentee_response: str | None
    mentor_responded_at: datetime | None
    mentee_responded_at: datetime | None
    decline_reason: str | None
    declined_by: uuid.UUID | None
    expires_at: datetime
    created_at: datetime
    resolved_at: datetime | None
    pair_id: uuid.UUID | None

    def participant_id(self, side: Side) -> uuid.UUID:
        return self.mentor_id if side == "mentor" else self.mentee_id

    def response(self, side: Side) -> str | None:
        return self.mentor_response if side == "mentor" else self.mentee_response


@dataclass(frozen=True, slots=True)
class PairRow:
    id: uuid.UUID
    cohort_id: uuid.UUID
    run_id: uuid.UUID | None
    mentor_id: uuid.UUID
    mentee_id: uuid.UUID
    score: float
    breakdown: dict[str, float]
    explanation: str
    status: str
    created_at: datetime
    proposal_id: uuid.UUID | None
    origin: str
    formed_at: datetime | None
    dissolved_at: datetime | None
    dissolved_reason: str | None
    dissolved_by: str | None
    ended_at: datetime | None = None  # status 'ended': the relationship closed in sessions
    ended_outcome: str | None = None  # completed | ended_early


@dataclass(frozen=True, slots=True)
class PairRef:
    """Who is paired with whom (a formed pair, an open or closed proposal), by participant id."""

    mentor_id: uuid.UUID
    mentee_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    cohort_id: uuid.UUID
    actor: str
    action: str
    reason: str | None
    details: dict[str, Any]  # Any: what the intervention changed (a JSON document per action)
    at: datetime


@dataclass(frozen=True, slots=True)
class ErasureRow:
    """The erasure ledger: a keyed hash of the person's employee id, never the id itself."""

    id: uuid.UUID
    subject_hash: str
    participant_ids: list[uuid.UUID]
    cohort_ids: list[uuid.UUID]
    requested_at: datetime
    requested_by: str
    matching_completed_at: datetime | None
    matching_erased: dict[str, int]
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ErasureAnswerRow:
    erasure_id: uuid.UUID
    service: str
    completed_at: datetime
    erased: dict[str, int]


@dataclass(frozen=True, slots=True)
class ExportRow:
    id: uuid.UUID
    subject_hash: str
    participant_ids: list[uuid.UUID]
    person: dict[str, Any]  # Any: who the export is about (employee id, names, e-mails)
    matching_section: dict[str, Any]  # Any: matching's section of the export document
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class ExportPartRow:
    export_id: uuid.UUID
    service: str
    chunk: int
    chunks: int
    data: dict[str, Any]  # Any: one part of a service's export section
    received_at: datetime


# -- mentoring circles (issue 15; migration 0011) ----------------------------------------------------

CircleRunStatus = Literal["draft", "published", "superseded"]
CircleStatus = Literal["draft", "proposed", "formed", "dissolved"]
# draft (in a draft circle), invited -> accepted | declined | expired, left (withdrew, left the company,
# erased), released (the circle was dissolved). Invited and accepted members are the circle's live ones.
MemberStatus = Literal["draft", "invited", "accepted", "declined", "expired", "left", "released"]
MemberOrigin = Literal["engine", "hr", "refill"]
LIVE_MEMBER: tuple[MemberStatus, ...] = ("invited", "accepted")


class LeftOutData(TypedDict):
    """Someone a circle draft does not place, with the plain-language reason."""

    participant_id: str
    employee_id: str
    reason_code: str
    reason: str


class SlotData(TypedDict):
    """A weekly slot every member is free: UTC weekday (0 = Monday) and minutes."""

    weekday: int
    start_minute: int
    duration_minutes: int


@dataclass(frozen=True, slots=True)
class CircleRunRow:
    id: uuid.UUID
    cohort_id: uuid.UUID
    status: CircleRunStatus  # the column's CHECK allows exactly these
    version: int  # grows with every review edit and re-solve
    stats: dict[str, Any]  # Any: the run's statistics document
    left_out: list[LeftOutData]
    removed: list[uuid.UUID]  # people HR took out of the draft (a re-solve leaves them out)
    created_by: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    published_by: str | None


@dataclass(frozen=True, slots=True)
class CircleRow:
    id: uuid.UUID
    cohort_id: uuid.UUID
    run_id: uuid.UUID | None
    status: CircleStatus  # the column's CHECK allows exactly these
    facilitator_id: uuid.UUID | None
    facilitator_by_hr: bool  # HR named the facilitator (who need not be facilitator-eligible)
    language: str | None
    weekly_slot: SlotData | None
    score: float
    breakdown: dict[str, float]
    explanation: str
    violations: list[str]  # hard rules a draft circle breaks after a forced edit
    pinned: bool
    origin: str  # engine | edited
    invite_ttl_hours: int | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    proposed_at: datetime | None
    formed_at: datetime | None
    dissolved_at: datetime | None
    dissolved_reason: str | None
    dissolved_by: str | None


@dataclass(frozen=True, slots=True)
class CircleMemberRow:
    circle_id: uuid.UUID
    participant_id: uuid.UUID
    status: MemberStatus  # the column's CHECK allows exactly these
    origin: MemberOrigin
    invited_at: datetime | None
    responded_at: datetime | None
    decline_reason: str | None
    left_at: datetime | None

    @property
    def live(self) -> bool:
        return self.status in LIVE_MEMBER


@dataclass(frozen=True, slots=True)
class NewCircle:
    """A circle to store (a draft from the engine or HR's review): members by participant id."""

    member_ids: list[uuid.UUID]
    facilitator_id: uuid.UUID | None
    language: str | None
    weekly_slot: SlotData | None
    score: float
    breakdown: dict[str, float]
    explanation: str
    violations: list[str] = field(default_factory=list)
    pinned: bool = False
    origin: str = "engine"
    facilitator_by_hr: bool = False
    member_origins: dict[uuid.UUID, MemberOrigin] = field(default_factory=dict)  # default: engine
