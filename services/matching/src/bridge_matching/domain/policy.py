"""A cohort's matching policy as HR edits it (validated), and its mapping to the engine policy."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bridge_matching.domain.engine import MatchingPolicy, Weights


class WeightsIn(BaseModel):
    """Relative weight of every soft criterion (0 switches a criterion off)."""

    model_config = ConfigDict(extra="forbid")

    skills_mentor_to_mentee: float = Field(3.0, ge=0, le=100)
    skills_mentee_to_mentor: float = Field(2.0, ge=0, le=100)
    availability: float = Field(1.0, ge=0, le=100)
    cross_department: float = Field(1.0, ge=0, le=100)
    requested_partner: float = Field(2.0, ge=0, le=100)


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weights: WeightsIn = Field(default_factory=WeightsIn)
    min_overlap_hours: float = Field(1.0, ge=0, le=40, description="hard: weekly overlap needed")
    overlap_target_hours: float = Field(4.0, gt=0, le=40, description="overlap at which the score saturates")
    region_mode: Literal["same_region", "cross_region", "any"] = Field(
        "any", description="same_region only, cross_region only, or any"
    )
    max_mentees_per_mentor: int = Field(3, ge=1, le=20)
    management_exclusion_depth: int = Field(
        2, ge=0, le=10, description="exclude pairs within this many management levels (0 = off)"
    )
    allow_repeat_partners: bool = False
    candidates_per_mentee: int = Field(40, ge=5, le=500)
    candidates_per_mentor: int = Field(10, ge=1, le=200)


def to_engine_policy(stored: dict[str, Any] | None) -> MatchingPolicy:  # Any: the stored JSON
    """Stored JSON (validated through PolicyIn, so old rows get today's defaults) -> engine policy."""
    p = PolicyIn.model_validate(stored or {})
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
    )
