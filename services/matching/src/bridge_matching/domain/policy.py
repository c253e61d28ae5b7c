"""A cohort's matching policy as HR edits it (validated), and its mapping to the engine policies (the
pair engine's and the circle engine's); and the programme formats a cohort runs."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from bridge_matching.domain.circles.model import CirclePolicy
from bridge_matching.domain.engine import MatchingPolicy, Weights
from bridge_shared.types import RegionCode

# Who lets an automatic rematch's draft go out: nobody (published at once) or HR (it stays a draft).
AutoRematchApproval = Literal["none", "hr"]

# What a cohort runs (issue 15): one-to-one pairs, mentoring circles, or both. Chosen when the cohort is
# created (CohortIn.formats, matching.cohort.created's `formats`).
Format = Literal["pairs", "circles"]
FORMATS: tuple[Format, ...] = ("pairs", "circles")
DEFAULT_FORMATS: tuple[Format, ...] = ("pairs",)

# A circle's size bounds: 3-20 members (contracts/circles.py carries at most 20).
CIRCLE_SIZE_MIN = 3
CIRCLE_SIZE_MAX = 20


def clean_formats(v: list[Format]) -> list[Format]:
    """Each format once, in the fixed order pairs, circles (a repeat is an error, not silently dropped)."""
    if len(set(v)) != len(v):
        raise ValueError("each format may be named once")
    return [f for f in FORMATS if f in v]


def _json_number(v: object) -> object:
    """A JSON number only: lax pydantic would read true as 1 and "3" as 3 (422 instead)."""
    if isinstance(v, bool | str):
        raise ValueError("must be a number")
    return v


Num = Annotated[float, BeforeValidator(_json_number)]
Int = Annotated[int, BeforeValidator(_json_number)]
Share = Annotated[float, Field(ge=0, le=1), BeforeValidator(_json_number)]  # bounds first: in the schema


class WeightsIn(BaseModel):
    """Relative weight of every soft criterion (0 switches a criterion off)."""

    model_config = ConfigDict(extra="forbid")

    skills_mentor_to_mentee: Num = Field(3.0, ge=0, le=100)
    skills_mentee_to_mentor: Num = Field(2.0, ge=0, le=100)
    availability: Num = Field(1.0, ge=0, le=100)
    cross_department: Num = Field(1.0, ge=0, le=100)
    requested_partner: Num = Field(2.0, ge=0, le=100)
    meeting_preference: Num = Field(
        1.0,
        ge=0,
        le=100,
        description="soft: earned when the two meeting preferences are compatible (the same, or one "
        "says either); in_person with video earns nothing, and is never ruled out",
    )


class RegionCap(BaseModel):
    """Mentors working in ``region`` take at most ``max_mentees`` mentees in all."""

    model_config = ConfigDict(extra="forbid")

    region: RegionCode
    max_mentees: Int = Field(ge=0, le=1_000_000)


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weights: WeightsIn = Field(default_factory=WeightsIn)
    min_overlap_hours: Num = Field(1.0, ge=0, le=40, description="hard: weekly overlap needed")
    overlap_target_hours: Num = Field(4.0, gt=0, le=40, description="overlap at which the score saturates")
    region_mode: Literal["same_region", "cross_region", "any"] = Field(
        "any", description="same_region only, cross_region only, or any"
    )
    max_mentees_per_mentor: Int = Field(3, ge=1, le=20)
    management_exclusion_depth: Int = Field(
        2, ge=0, le=10, description="exclude pairs within this many management levels (0 = off)"
    )
    allow_repeat_partners: bool = False
    candidates_per_mentee: Int = Field(40, ge=5, le=500)
    candidates_per_mentor: Int = Field(10, ge=1, le=200)
    availability_mode: Literal["whole_programme", "typical_week"] = Field(
        "whole_programme",
        description=(
            "whole_programme: the weekly overlap is the least over every week of the programme's dates "
            "(DST changes included); typical_week: the programme's first week only"
        ),
    )
    min_cross_region_share: Share | None = Field(
        None,
        description="quota: at least this share of the pairs join two regions (0-1; null = off)",
    )
    max_same_department_share: Share | None = Field(
        None,
        description="quota: at most this share of the pairs inside one department (null = off)",
    )
    region_mentor_caps: list[RegionCap] = Field(
        default_factory=list,
        max_length=50,
        description="quota: mentors working in a region take at most this many mentees in all, per region",
    )

    auto_rematch: bool = Field(
        False,
        description=(
            "after a decline or an expiry in matching or active, queue a matching run for the cohort "
            "(origin auto_rematch), unless a run is already queued or running"
        ),
    )
    auto_rematch_approval: AutoRematchApproval = Field(
        "hr",
        description=(
            "none: the automatic run's draft is published at once (match.proposed); "
            "hr: it stays a draft for HR to review and publish"
        ),
    )

    # Mentoring circles (issue 15; used when the cohort's formats include circles). "Junior" and "senior"
    # are seniority levels, never ages; the management depth above applies to circles too.
    circle_min_size: Int = Field(
        5, ge=CIRCLE_SIZE_MIN, le=CIRCLE_SIZE_MAX, description="hard: fewest members of a circle"
    )
    # validate_default: the checks against other fields run when this one is left out too.
    circle_max_size: Int = Field(
        8,
        ge=CIRCLE_SIZE_MIN,
        le=CIRCLE_SIZE_MAX,
        validate_default=True,
        description="hard: most members (at least circle_min_size)",
    )
    circle_min_juniors: Int = Field(
        2, ge=0, le=CIRCLE_SIZE_MAX, description="hard: juniors (seniority at most circle_junior_max_level)"
    )
    circle_min_seniors: Int = Field(
        2,
        ge=0,
        le=CIRCLE_SIZE_MAX,
        validate_default=True,
        description="hard: seniors (seniority at least circle_senior_min_level); with circle_min_juniors "
        "at most circle_min_size",
    )
    circle_junior_max_level: Int = Field(4, ge=1, le=15, description="a junior's highest seniority level")
    circle_senior_min_level: Int = Field(
        8,
        ge=1,
        le=15,
        validate_default=True,
        description="a senior's lowest seniority level (above circle_junior_max_level)",
    )
    circle_min_common_minutes: Int = Field(
        60,
        ge=15,
        le=600,
        description="hard: minutes of one weekly slot every member of a circle is free, in every week of "
        "the programme",
    )

    @field_validator("circle_max_size")
    @classmethod
    def _circle_sizes(cls, v: int, info: ValidationInfo) -> int:
        low = info.data.get("circle_min_size")
        if low is not None and v < low:
            raise ValueError(f"must be at least circle_min_size ({low})")
        return v

    @field_validator("circle_min_seniors")
    @classmethod
    def _circle_generations(cls, v: int, info: ValidationInfo) -> int:
        size, juniors = info.data.get("circle_min_size"), info.data.get("circle_min_juniors")
        if size is not None and juniors is not None and juniors + v > size:
            raise ValueError(f"with circle_min_juniors ({juniors}) must not exceed circle_min_size ({size})")
        return v

    @field_validator("circle_senior_min_level")
    @classmethod
    def _circle_levels(cls, v: int, info: ValidationInfo) -> int:
        junior = info.data.get("circle_junior_max_level")
        if junior is not None and v <= junior:
            raise ValueError(f"must be above circle_junior_max_level ({junior})")
        return v

    @field_validator("region_mentor_caps")
    @classmethod
    def _one_cap_per_region(cls, v: list[RegionCap]) -> list[RegionCap]:
        regions = [c.region for c in v]
        if len(set(regions)) != len(regions):
            raise ValueError("each region may have one cap")
        return v


def auto_rematch_of(stored: dict[str, Any] | None) -> tuple[bool, AutoRematchApproval]:  # Any: stored JSON
    """(auto_rematch, auto_rematch_approval) of a stored policy (rows stored before them read as off)."""
    p = PolicyIn.model_validate(stored or {})
    return p.auto_rematch, p.auto_rematch_approval


def policy_event_document(p: PolicyIn) -> dict[str, Any]:  # Any: the event's JSON values
    """The policy as ``matching.cohort.policy_updated.v1`` carries it: that contract's values are
    numbers, booleans, strings or string-to-number maps, never null or lists, so quotas that are
    off are left out and region caps travel as ``{region: max_mentees}``."""
    doc = p.model_dump(exclude_none=True)
    doc["region_mentor_caps"] = {c.region: c.max_mentees for c in p.region_mentor_caps}
    return doc


def to_engine_policy(
    stored: dict[str, Any] | None,  # Any: the stored JSON
    *,
    programme_start: date | None = None,
    programme_end: date | None = None,
    matching_date: date | None = None,
) -> MatchingPolicy:
    """Stored JSON (validated through PolicyIn, so old rows get today's defaults) -> engine policy.

    The cohort's dates bound the weeks whose overlap counts: programme start to end; without a
    start, from the matching date; without an end, a year (52 weeks) from the start; with no
    dates at all, the engine's documented year (52 weeks from its reference week, 2025-01-06).
    """
    p = PolicyIn.model_validate(stored or {})
    start, _ = _programme_dates(programme_start, programme_end, matching_date)
    return MatchingPolicy(
        weights=Weights(**p.weights.model_dump()),
        min_overlap_hours=p.min_overlap_hours,
        overlap_target_hours=p.overlap_target_hours,
        region_mode=p.region_mode,
        max_mentees_per_mentor=p.max_mentees_per_mentor,
        management_exclusion_depth=p.management_exclusion_depth,
        allow_repeat_partners=p.allow_repeat_partners,
        candidates_per_mentee=p.candidates_per_mentee,
        candidates_per_mentor=p.candidates_per_mentor,
        availability_mode=p.availability_mode,
        programme_start=start,
        programme_end=programme_end,
        min_cross_region_share=p.min_cross_region_share,
        max_same_department_share=p.max_same_department_share,
        region_mentor_caps=tuple(sorted((c.region, c.max_mentees) for c in p.region_mentor_caps)),
    )


def _programme_dates(
    programme_start: date | None, programme_end: date | None, matching_date: date | None
) -> tuple[date | None, date | None]:
    """The dates whose weeks count (see to_engine_policy): start (else the matching date) to end."""
    start = programme_start if programme_start is not None else matching_date
    if start is not None and programme_end is not None and programme_end < start:
        start = None  # dates out of order (CohortIn refuses them, an old row may not): keep the end
    return start, programme_end


def to_circle_policy(
    stored: dict[str, Any] | None,  # Any: the stored JSON
    *,
    programme_start: date | None = None,
    programme_end: date | None = None,
    matching_date: date | None = None,
) -> CirclePolicy:
    """Stored JSON (through PolicyIn: rows stored before the circle fields read with their defaults) ->
    the circle engine's policy, over the same programme weeks as pairs."""
    p = PolicyIn.model_validate(stored or {})
    start, end = _programme_dates(programme_start, programme_end, matching_date)
    return CirclePolicy(
        min_size=p.circle_min_size,
        max_size=p.circle_max_size,
        min_juniors=p.circle_min_juniors,
        min_seniors=p.circle_min_seniors,
        junior_max_level=p.circle_junior_max_level,
        senior_min_level=p.circle_senior_min_level,
        min_common_minutes=p.circle_min_common_minutes,
        management_exclusion_depth=p.management_exclusion_depth,
        programme_start=start,
        programme_end=end,
    )
