"""Request and response bodies of the matching API."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from bridge_matching.domain.cohort import CohortIn
from bridge_matching.domain.phases import Phase
from bridge_matching.domain.policy import PolicyIn
from bridge_matching.domain.profile import (
    MAX_BLOCKED,
    MAX_LANGUAGES,
    MAX_REQUESTED,
    MAX_SKILLS,
    MAX_WINDOWS,
    ParticipantIn,
    Window,
)
from bridge_matching.domain.rows import RunOrigin, RunStatus
from bridge_shared.contracts.common import Locale, Role, TimeZoneName
from bridge_shared.types import Identifier, MediumText, RegionCode, ShortText, Tag

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["CohortIn", "ParticipantIn"]


class CohortOut(BaseModel):
    """A stored cohort as it is stored: CohortIn's fields without its input rules (see ParticipantOut)."""

    model_config = ConfigDict(extra="ignore")

    name: str
    regions: list[str]
    hr_contact_email: str
    enrolment_opens: date | None = None
    enrolment_closes: date | None = None
    matching_date: date | None = None
    programme_start: date | None = None
    programme_end: date | None = None
    inactivity_threshold_days: int = 21
    skill_taxonomy: list[str] = Field(default_factory=list)
    policy: PolicyIn = Field(default_factory=PolicyIn)
    formats: list[str] = Field(default_factory=lambda: ["pairs"], description="pairs, circles or both")
    id: UUID
    phase: Phase
    phase_changed_at: datetime
    created_at: datetime


class PhaseChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_phase: Phase


# Its fields are exactly domain.profile.PROFILE_FIELDS, bounded like ParticipantIn's (tests/matching/
# test_profile.py checks the names); the rest of the rules apply to the merged profile.
class ParticipantPatch(BaseModel):
    """Partial profile update; the merged profile is validated as a whole."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    display_name: ShortText | None = None
    email: str | None = Field(default=None, max_length=320)
    seniority_level: int | None = Field(default=None, ge=1, le=15)
    department: ShortText | None = None
    manager_employee_id: str | None = Field(default=None, max_length=128)  # "" clears it
    region: RegionCode | None = None
    languages: list[Tag] | None = Field(default=None, min_length=1, max_length=MAX_LANGUAGES)
    timezone: TimeZoneName | None = Field(default=None, max_length=64)
    locale: Locale | None = None
    # Any: windows, validated with the merged profile
    availability: list[dict[str, Any]] | None = Field(default=None, max_length=MAX_WINDOWS)
    skills_to_share: list[Tag] | None = Field(default=None, max_length=MAX_SKILLS)
    skills_to_learn: list[Tag] | None = Field(default=None, max_length=MAX_SKILLS)
    meeting_preference: str | None = Field(default=None, max_length=16)
    capacity: int | None = Field(default=None, ge=1, le=10)
    requested_partners: list[Identifier] | None = Field(default=None, max_length=MAX_REQUESTED)
    blocked_partners: list[Identifier] | None = Field(default=None, max_length=MAX_BLOCKED)
    facilitator_eligible: bool | None = None


class SkillTag(BaseModel):
    name: str
    direction: Literal["share", "learn"]
    kind: Literal["taxonomy", "free"]


class ParticipantOut(BaseModel):
    """A stored profile as it is stored: ParticipantIn's fields without its input rules, so a row
    written before a rule existed (e.g. an empty language list) is still shown, never a 500."""

    model_config = ConfigDict(extra="ignore")

    employee_id: str
    role: Role
    display_name: str
    email: str
    seniority_level: int
    department: str
    manager_employee_id: str | None = None
    region: str
    languages: list[str]
    timezone: str
    locale: str
    availability: list[Window]
    skills_to_share: list[str]
    skills_to_learn: list[str]
    meeting_preference: Literal["in_person", "video", "either"]
    capacity: int
    requested_partners: list[str]
    blocked_partners: list[str]
    facilitator_eligible: bool = False
    id: UUID
    cohort_id: UUID
    status: Literal["enrolled", "withdrawn"]
    skill_tags: list[SkillTag] = Field(default_factory=list)
    withdrawn_reason: str | None = None


class OptionalReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: MediumText | None = None


class WithdrawIn(OptionalReasonIn):
    pass


class ImportJobOut(BaseModel):
    id: UUID
    cohort_id: UUID
    status: Literal["queued", "running", "completed", "failed"]
    total: int
    processed: int
    report: dict[str, Any] | None = None  # Any: the report document
    error: str | None = None
    created_at: datetime
    finished_at: datetime | None = None


class Breakdown(BaseModel):
    model_config = ConfigDict(extra="allow")


class DraftPairOut(BaseModel):
    id: UUID
    mentor_id: UUID
    mentee_id: UUID
    mentor_employee_id: str
    mentee_employee_id: str
    score: float
    breakdown: dict[str, float]
    explanation: str
    violations: list[str]
    pinned: bool
    origin: str


class UnmatchedOut(BaseModel):
    participant_id: UUID
    employee_id: str
    reason_code: str
    reason: str


class FailedAttemptOut(BaseModel):
    attempt: int = Field(description="the run's attempt number that failed")
    stage: Literal["snapshot", "solve", "write"] = Field(
        description="reading the cohort, solving, or storing the draft"
    )
    error: str
    transient: bool = Field(description="a transient error (retried with backoff until attempts ran out)")
    at: datetime
    retry_in_seconds: float | None = Field(
        description="the backoff before the next attempt; null: the run failed"
    )


class MatchingRunOut(BaseModel):
    id: UUID
    cohort_id: UUID
    status: RunStatus
    origin: RunOrigin = Field(
        "hr",
        description="hr: started by HR; auto_rematch: queued by a decline or an expiry (policy auto_rematch)",
    )
    reason: str | None = Field(None, description="why an automatic run was queued")
    pairs: list[DraftPairOut]
    unmatched: list[UnmatchedOut]
    stats: dict[str, Any]  # Any: the statistics document
    error: str | None = None
    attempts: int = 0
    failed_attempts: list[FailedAttemptOut] = Field(default_factory=list)
    created_at: datetime
    finished_at: datetime | None = None
    published_at: datetime | None = None


class SwapIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pair_a: UUID
    pair_b: UUID


class PublishOut(BaseModel):
    run_id: UUID
    proposals: int
    expires_at: datetime


class ProposalOut(BaseModel):
    id: UUID
    cohort_id: UUID
    run_id: UUID | None
    source: str
    mentor_id: UUID
    mentee_id: UUID
    score: float
    breakdown: dict[str, float]
    explanation: str
    status: Literal["pending", "accepted", "declined", "expired", "cancelled"]
    mentor_response: str | None
    mentee_response: str | None
    decline_reason: str | None
    expires_at: datetime
    created_at: datetime
    resolved_at: datetime | None
    pair_id: UUID | None


class DeclineIn(OptionalReasonIn):
    pass


class SuggestionOut(BaseModel):
    participant_id: UUID
    employee_id: str
    display_name: str
    as_role: Literal["mentor", "mentee"]
    score: float
    breakdown: dict[str, float]
    explanation: str


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner_id: UUID
    partner_role: Literal["mentor", "mentee"] | None = Field(
        default=None, description="the partner's role; by default whichever orientation is allowed"
    )


class PairOut(BaseModel):
    id: UUID
    cohort_id: UUID
    mentor_id: UUID
    mentee_id: UUID
    proposal_id: UUID | None = None
    origin: str
    score: float
    breakdown: dict[str, float]
    explanation: str
    status: Literal["formed", "dissolved", "ended"] = Field(
        description="formed; dissolved (by HR or an erasure); ended (the relationship closed in sessions)"
    )
    formed_at: datetime | None = None
    dissolved_at: datetime | None = None
    dissolved_reason: str | None = None
    ended_at: datetime | None = None
    ended_outcome: Literal["completed", "ended_early"] | None = None


class OverridePairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mentor_id: UUID
    mentee_id: UUID
    reason: MediumText = Field(min_length=3)


class DissolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: MediumText = Field(min_length=3)


class AuditOut(BaseModel):
    id: int
    cohort_id: UUID
    actor: str
    action: str
    reason: str | None
    details: dict[str, Any]  # Any: a JSON document per action
    at: datetime


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_id: Identifier


class ExportIn(ErasureIn):
    pass


class ServiceErasureOut(BaseModel):
    completed_at: datetime
    erased: dict[str, int]


class ErasureOut(BaseModel):
    """An erasure's status: each service's answer (null until it answered)."""

    id: UUID
    status: Literal["in_progress", "completed"]
    services: dict[str, ServiceErasureOut | None]
    requested_at: datetime
    completed_at: datetime | None


class ExportAccepted(BaseModel):
    id: UUID
    status: Literal["pending", "complete"]


M = TypeVar("M", bound=BaseModel)


def from_row(model: type[M], row: DataclassInstance) -> M:
    """A response body from a stored row (a dataclass from domain/rows.py); extra columns are ignored."""
    return model.model_validate(dataclasses.asdict(row))


class MyEnrolmentOut(BaseModel):
    """One of the caller's own enrolments, with the cohort it is in."""

    cohort_id: UUID
    cohort_name: str
    cohort_phase: str
    formats: list[str]
    programme_start: date | None
    programme_end: date | None
    participant: ParticipantOut


def participant_out(row: DataclassInstance, taxonomy: list[str]) -> ParticipantOut:
    """The profile with its skills marked as the cohort's taxonomy or free tags."""
    data = dataclasses.asdict(row)
    known = {t.casefold() for t in taxonomy}  # skills keep their case; the taxonomy's is not a rule
    tags = [
        SkillTag.model_validate(
            {"name": s, "direction": d, "kind": "taxonomy" if s.casefold() in known else "free"}
        )
        for d, key in (("share", "skills_to_share"), ("learn", "skills_to_learn"))
        for s in data[key]
    ]
    return ParticipantOut.model_validate({**data, "skill_tags": tags})
