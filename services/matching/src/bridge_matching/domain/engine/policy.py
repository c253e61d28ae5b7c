"""Per-cohort matching policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

RegionMode = Literal["same_region", "cross_region", "any"]
# "whole_programme": a pair's weekly overlap is its minimum over every week of the programme (DST
# changes included); "typical_week": the overlap in the programme's first week only.
AvailabilityMode = Literal["whole_programme", "typical_week"]
# Without programme dates, the whole programme is this many weeks from ``reference_week``
# (a full year: every DST rule changes and changes back within it).
FALLBACK_PROGRAMME_WEEKS = 52


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True, slots=True)
class Weights:
    skills_mentor_to_mentee: float = 3.0
    skills_mentee_to_mentor: float = 2.0
    availability: float = 1.0
    cross_department: float = 1.0
    requested_partner: float = 2.0
    # Soft, never a hard rule: earned by a pair whose meeting preferences are compatible (the same,
    # or at least one of the two says "either"); in person with video earns nothing.
    meeting_preference: float = 1.0

    def __post_init__(self) -> None:
        if min(self.as_tuple()) < 0:
            raise ValueError("weights must be >= 0")

    def as_tuple(self) -> tuple[float, float, float, float, float, float]:
        """The weights in the order of ``scoring.Scores.components`` (and of the pricing kernel's ``w``)."""
        return (
            self.skills_mentor_to_mentee,
            self.skills_mentee_to_mentor,
            self.availability,
            self.cross_department,
            self.requested_partner,
            self.meeting_preference,
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
    # Used when there are no programme dates: "typical_week" checks this week (also when
    # only the end is known), "whole_programme" the FALLBACK_PROGRAMME_WEEKS weeks from it.
    reference_week: date = date(2025, 1, 6)
    availability_mode: AvailabilityMode = "whole_programme"
    # The programme's dates (inclusive). Each Monday-to-Sunday week that contains one of its
    # days is a week of the programme. With only one date given, the programme is a year
    # (FALLBACK_PROGRAMME_WEEKS weeks) from the start or up to the end.
    programme_start: date | None = None
    programme_end: date | None = None
    # Fairness and diversity quotas (optional, hard; see quotas.py): at least this share of
    # the pairs join two regions; at most this share sit inside one department; mentors
    # working in a region take at most this many mentees in all.
    min_cross_region_share: float | None = None
    max_same_department_share: float | None = None
    region_mentor_caps: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        for share in (self.min_cross_region_share, self.max_same_department_share):
            if share is not None and not 0.0 <= share <= 1.0:
                raise ValueError("quota shares must be between 0 and 1")
        if any(cap < 0 for _, cap in self.region_mentor_caps):
            raise ValueError("region mentor caps must be >= 0")
        if self.reference_week.weekday() != 0:
            raise ValueError("reference_week must be a Monday")
        if self.max_mentees_per_mentor < 0 or self.management_exclusion_depth < 0:
            raise ValueError("max_mentees_per_mentor and depth must be >= 0")
        if self.candidates_per_mentee < 1:
            raise ValueError("candidates_per_mentee must be >= 1")
        if self.overlap_target_hours <= 0:
            raise ValueError("overlap_target_hours must be > 0")
        if self.availability_mode not in ("whole_programme", "typical_week"):
            raise ValueError("availability_mode must be 'whole_programme' or 'typical_week'")
        start, end = self.programme_start, self.programme_end
        if start is not None and end is not None and end < start:
            raise ValueError("programme_end must not be before programme_start")

    def programme_weeks(self) -> tuple[date, ...]:
        """Mondays of the weeks whose overlap counts, in order (one week in "typical_week" mode).

        The weekly overlap of a pair is its minimum over these weeks: each week converts the
        local windows with that week's own offsets, so a week with a DST change is its own week.
        """
        start, end = self.programme_start, self.programme_end
        span = timedelta(weeks=FALLBACK_PROGRAMME_WEEKS - 1)
        if self.availability_mode == "typical_week":
            return (monday_of(start) if start is not None else self.reference_week,)
        if start is not None:
            first = monday_of(start)
            last = monday_of(end) if end is not None else first + span
        elif end is not None:
            last = monday_of(end)
            first = last - span
        else:
            first = self.reference_week
            last = first + span
        count = (last - first).days // 7 + 1
        return tuple(first + timedelta(weeks=k) for k in range(count))
