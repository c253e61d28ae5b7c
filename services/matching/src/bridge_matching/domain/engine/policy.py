"""Per-cohort matching policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

RegionMode = Literal["same_region", "cross_region", "any"]


@dataclass(frozen=True, slots=True)
class Weights:
    skills_mentor_to_mentee: float = 3.0
    skills_mentee_to_mentor: float = 2.0
    availability: float = 1.0
    cross_department: float = 1.0
    requested_partner: float = 2.0

    def __post_init__(self) -> None:
        if min(self.as_tuple()) < 0:
            raise ValueError("weights must be >= 0")

    def as_tuple(self) -> tuple[float, float, float, float, float]:
        return (
            self.skills_mentor_to_mentee,
            self.skills_mentee_to_mentor,
            self.availability,
            self.cross_department,
            self.requested_partner,
        )


@dataclass(frozen=True, slots=True)
class MatchingPolicy:
    weights: Weights = field(default_factory=Weights)
    min_overlap_hours: float = 1.0
    # Overlap at which the availability component saturates at 1.0.
    overlap_target_hours: float = 4.0
    # "same_region": partners must share a region; "cross_region": partners must be in
    # different regions; "any": region is not a constraint.
    region_mode: RegionMode = "any"
    max_mentees_per_mentor: int = 3
    # Exclude pairs where one is within this many levels above the other in the
    # management chain (1 = direct manager only, 0 = no exclusion).
    management_exclusion_depth: int = 2
    allow_repeat_partners: bool = False
    # Sparse candidate graph: keep this many best candidates per mentee (and per mentor).
    candidates_per_mentee: int = 40
    candidates_per_mentor: int = 10
    # Monday of the reference week used to convert local windows to UTC, so DST is
    # resolved deterministically (the same input always yields the same offsets).
    reference_week: date = date(2025, 1, 6)
    # Extra min-cost-flow solves allowed for branch & bound over "either" roles.
    either_branch_budget: int = 64

    def __post_init__(self) -> None:
        if self.reference_week.weekday() != 0:
            raise ValueError("reference_week must be a Monday")
        if self.max_mentees_per_mentor < 0 or self.management_exclusion_depth < 0:
            raise ValueError("max_mentees_per_mentor and depth must be >= 0")
        if self.candidates_per_mentee < 1:
            raise ValueError("candidates_per_mentee must be >= 1")
        if self.overlap_target_hours <= 0:
            raise ValueError("overlap_target_hours must be > 0")
