"""Request and response bodies of the matching API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from bridge_shared.contracts.common import Locale, Region, Role, Seniority, TimeZoneName


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


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

    @model_validator(mode="after")
    def _dates_in_order(self) -> CohortIn:
        seq = [self.enrolment_opens, self.enrolment_closes, self.matching_date, self.programme_start,
               self.programme_end]
        given = [d for d in seq if d is not None]
        if given != sorted(given):
            raise ValueError("dates must be in order: enrolment opens, closes, matching, start, end")
        return self


class CohortOut(CohortIn):
    model_config = ConfigDict(extra="ignore")

    id: UUID
    phase: str
    created_at: datetime


class ParticipantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_id: str = Field(min_length=1, max_length=128)
    role: Role
    display_name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    seniority_level: Seniority
    department: str = Field(min_length=1, max_length=120)
    manager_employee_id: str | None = None
    region: Region
    languages: list[str] = Field(min_length=1)
    timezone: TimeZoneName
    locale: Locale = "en"
    availability: list[Window] = Field(default_factory=list)
    skills_to_share: list[str] = Field(default_factory=list)
    skills_to_learn: list[str] = Field(default_factory=list)
    meeting_preference: Literal["in_person", "video", "either"] = "either"
    capacity: int = Field(default=1, ge=1, le=10)
    requested_partners: list[str] = Field(default_factory=list)
    blocked_partners: list[str] = Field(default_factory=list)

    @field_validator("languages", "skills_to_share", "skills_to_learn")
    @classmethod
    def _normalise(cls, v: list[str]) -> list[str]:
        return sorted({s.strip().lower() for s in v if s.strip()})

    @model_validator(mode="after")
    def _not_self(self) -> ParticipantIn:
        if self.manager_employee_id == self.employee_id:
            raise ValueError("manager_employee_id cannot be the participant themself")
        return self


class ParticipantOut(ParticipantIn):
    model_config = ConfigDict(extra="ignore")

    id: UUID
    cohort_id: UUID
    status: str


class PairOut(BaseModel):
    id: UUID
    cohort_id: UUID
    mentor_id: UUID
    mentee_id: UUID
    score: float
    breakdown: dict[str, float]
    explanation: str
    status: str


class UnmatchedOut(BaseModel):
    participant_id: UUID
    reason_code: str
    reason: str


class MatchingRunOut(BaseModel):
    id: UUID
    cohort_id: UUID
    status: str
    pairs: list[PairOut]
    unmatched: list[UnmatchedOut]
    stats: dict[str, float | int]
