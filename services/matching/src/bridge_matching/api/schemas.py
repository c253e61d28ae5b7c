"""Request and response bodies of the matching API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from bridge_matching.domain.phases import Phase
from bridge_matching.domain.policy import PolicyIn
from bridge_shared.contracts.common import Locale, Region, Role, Seniority, TimeZoneName


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


def _clean_tags(v: list[str]) -> list[str]:
    return sorted({" ".join(s.split()).lower() for s in v if s.strip()})


class CohortIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    regions: list[Region] = Field(min_length=1)
    hr_contact_email: EmailStr
    enrolment_opens: date | None = None
    enrolment_closes: date | None = None
    matching_date: date | None = None
    programme_start: date | None = None
    programme_end: date | None = None
    inactivity_threshold_days: int = Field(default=21, ge=1, le=365)
    skill_taxonomy: list[str] = Field(
        default_factory=list, max_length=2000, description="the cohort's skills; anything else is a free tag"
    )
    policy: PolicyIn = Field(default_factory=PolicyIn)

    _tags = field_validator("skill_taxonomy")(_clean_tags)

    @field_validator("regions")
    @classmethod
    def _unique_regions(cls, v: list[str]) -> list[str]:
        return sorted(set(v))

    @model_validator(mode="after")
    def _dates_in_order(self) -> CohortIn:
        seq = [
            self.enrolment_opens,
            self.enrolment_closes,
            self.matching_date,
            self.programme_start,
            self.programme_end,
        ]
        given = [d for d in seq if d is not None]
        if given != sorted(given):
            raise ValueError("dates must be in order: enrolment opens, closes, matching, start, end")
        return self


class CohortOut(CohortIn):
    model_config = ConfigDict(extra="ignore")

    id: UUID
    phase: Phase
    phase_changed_at: datetime
    created_at: datetime


class PhaseChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_phase: Phase


class ParticipantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    role: Role
    display_name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    seniority_level: Seniority
    department: str = Field(min_length=1, max_length=120)
    manager_employee_id: str | None = Field(default=None, max_length=128)
    region: Region
    languages: list[str] = Field(min_length=1)
    timezone: TimeZoneName
    locale: Locale = "en"
    availability: list[Window] = Field(default_factory=list, max_length=50)
    skills_to_share: list[str] = Field(default_factory=list, max_length=50)
    skills_to_learn: list[str] = Field(default_factory=list, max_length=50)
    meeting_preference: Literal["in_person", "video", "either"] = "either"
    capacity: int = Field(default=1, ge=1, le=10)
    requested_partners: list[str] = Field(default_factory=list, max_length=20)
    blocked_partners: list[str] = Field(default_factory=list, max_length=50)

    _tags = field_validator("languages", "skills_to_share", "skills_to_learn")(_clean_tags)

    @field_validator("manager_employee_id")
    @classmethod
    def _blank_manager(cls, v: str | None) -> str | None:
        return v.strip() or None if v is not None else None

    @field_validator("requested_partners", "blocked_partners")
    @classmethod
    def _ids(cls, v: list[str]) -> list[str]:
        return sorted({s.strip() for s in v if s.strip()})

    @model_validator(mode="after")
    def _not_self(self) -> ParticipantIn:
        if self.manager_employee_id == self.employee_id:
            raise ValueError("manager_employee_id cannot be the participant themself")
        if self.employee_id in self.requested_partners or self.employee_id in self.blocked_partners:
            raise ValueError("a participant cannot request or block themself")
        if set(self.requested_partners) & set(self.blocked_partners):
            raise ValueError("the same partner cannot be both requested and blocked")
        return self


# What a participant may change about themself; the rest comes from HR / the HRIS.
SELF_EDITABLE = frozenset(
    {
        "role",
        "display_name",
        "languages",
        "timezone",
        "locale",
        "availability",
        "skills_to_share",
        "skills_to_learn",
        "meeting_preference",
        "capacity",
        "requested_partners",
        "blocked_partners",
    }
)


class ParticipantPatch(BaseModel):
    """Partial profile update; the merged profile is validated as a whole."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    display_name: str | None = None
    email: str | None = None
    seniority_level: int | None = None
    department: str | None = None
    manager_employee_id: str | None = None
    region: str | None = None
    languages: list[str] | None = None
    timezone: str | None = None
    locale: str | None = None
    availability: list[dict[str, Any]] | None = None
    skills_to_share: list[str] | None = None
    skills_to_learn: list[str] | None = None
    meeting_preference: str | None = None
    capacity: int | None = None
    requested_partners: list[str] | None = None
    blocked_partners: list[str] | None = None


class SkillTag(BaseModel):
    name: str
    direction: Literal["share", "learn"]
    kind: Literal["taxonomy", "free"]


class ParticipantOut(ParticipantIn):
    model_config = ConfigDict(extra="ignore")

    id: UUID
    cohort_id: UUID
    status: Literal["enrolled", "withdrawn"]
    skill_tags: list[SkillTag] = Field(default_factory=list)
    withdrawn_reason: str | None = None


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=1000)


class ImportJobOut(BaseModel):
    id: UUID
    cohort_id: UUID
    status: Literal["queued", "running", "completed", "failed"]
    total: int
    processed: int
    report: dict[str, Any] | None = None
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


class MatchingRunOut(BaseModel):
    id: UUID
    cohort_id: UUID
    status: Literal["queued", "running", "draft", "failed", "published", "superseded"]
    pairs: list[DraftPairOut]
    unmatched: list[UnmatchedOut]
    stats: dict[str, Any]
    error: str | None = None
    attempts: int = 0
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


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=1000)


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
    status: Literal["formed", "dissolved"]
    formed_at: datetime | None = None
    dissolved_at: datetime | None = None
    dissolved_reason: str | None = None


class OverridePairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mentor_id: UUID
    mentee_id: UUID
    reason: str = Field(min_length=3, max_length=2000)


class DissolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=2000)


class AuditOut(BaseModel):
    id: int
    cohort_id: UUID
    actor: str
    action: str
    reason: str | None
    details: dict[str, Any]
    at: datetime
