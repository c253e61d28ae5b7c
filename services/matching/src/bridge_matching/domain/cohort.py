"""A cohort as HR creates it (validated)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from bridge_matching.domain.policy import DEFAULT_FORMATS, FORMATS, Format, PolicyIn, clean_formats
from bridge_matching.domain.profile import clean_tags
from bridge_shared.types import RegionCode, ShortText, Tag

# A taxonomy of 2,000 items of at most 100 characters is at most ~200 kB as JSON (well under the
# outbox's 1 MB event limit, with the rest of the cohort).
MAX_TAXONOMY = 2000
MAX_REGIONS = 50


class CohortIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText
    regions: list[RegionCode] = Field(min_length=1, max_length=MAX_REGIONS)
    hr_contact_email: EmailStr
    enrolment_opens: date | None = None
    enrolment_closes: date | None = None
    matching_date: date | None = None
    programme_start: date | None = None
    programme_end: date | None = None
    inactivity_threshold_days: int = Field(default=21, ge=1, le=365)
    skill_taxonomy: list[Tag] = Field(
        default_factory=list,
        max_length=MAX_TAXONOMY,
        description="the cohort's skills; anything else is a free tag",
    )
    policy: PolicyIn = Field(default_factory=PolicyIn)
    formats: list[Format] = Field(
        default_factory=lambda: list(DEFAULT_FORMATS),
        min_length=1,
        max_length=len(FORMATS),
        description="what the cohort runs: one-to-one pairs, mentoring circles, or both",
    )

    _tags = field_validator("skill_taxonomy")(clean_tags)
    _formats = field_validator("formats")(clean_formats)

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
