"""The circle engine's contract (issue 15): what goes in, what comes out. The workflow codes against
these names; the engine (formation.py) implements `form_circles`.

Hard constraints, never broken in a returned circle:
- size within [min_size, max_size];
- at least `min_juniors` members with seniority <= junior_max_level and `min_seniors` with
  seniority >= senior_min_level (seniority levels, never age);
- one language every member speaks;
- a common weekly slot of at least `min_common_minutes` for every member, in their own zones, in
  every week of the programme's dates (the pair engine's availability code, domain/engine/availability.py);
- no two members within `management_exclusion_depth` levels of each other's management chain;
- no member blocked by another (either way);
- a facilitator who is a member and facilitator-eligible (or named by HR through a pin);
- each participant in at most one circle (capacity).
Objective: the best generational mix and the most two-way skill coverage inside each circle (what
each member can teach and learn from the others), spread across departments and regions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from bridge_matching.domain.engine.model import Participant
from bridge_matching.domain.engine.policy import MatchingPolicy

# The events' word for it (bridge_shared.contracts.circles.Generation): "other" counts for neither minimum.
Generation = Literal["junior", "senior", "other"]
# Members a circle may have at most: the events carry up to this many.
MAX_CIRCLE_SIZE = 20


@dataclass(frozen=True, slots=True)
class CirclePolicy:
    min_size: int = 5
    max_size: int = 8
    min_juniors: int = 2
    min_seniors: int = 2
    junior_max_level: int = 4
    senior_min_level: int = 8
    min_common_minutes: int = 60
    management_exclusion_depth: int = 2
    programme_start: date | None = None
    programme_end: date | None = None
    # objective weights
    weight_mix: float = 1.0
    weight_skills: float = 1.0
    weight_department_spread: float = 0.5
    weight_region_spread: float = 0.5

    def __post_init__(self) -> None:
        if not 2 <= self.min_size <= self.max_size <= MAX_CIRCLE_SIZE:
            raise ValueError(f"circle sizes must satisfy 2 <= min_size <= max_size <= {MAX_CIRCLE_SIZE}")
        if (
            self.min_juniors < 0
            or self.min_seniors < 0
            or self.min_juniors + self.min_seniors > self.max_size
        ):
            raise ValueError("min_juniors and min_seniors must be >= 0 and fit in max_size together")
        if self.junior_max_level >= self.senior_min_level:
            raise ValueError("junior_max_level must be below senior_min_level (nobody is both)")
        if not 0 <= self.min_common_minutes <= 24 * 60:
            raise ValueError("min_common_minutes must be between 0 and 1440")
        if self.management_exclusion_depth < 0:
            raise ValueError("management_exclusion_depth must be >= 0")
        weights = (
            self.weight_mix,
            self.weight_skills,
            self.weight_department_spread,
            self.weight_region_spread,
        )
        if min(weights) < 0:
            raise ValueError("weights must be >= 0")
        start, end = self.programme_start, self.programme_end
        if start is not None and end is not None and end < start:
            raise ValueError("programme_end must not be before programme_start")

    def generation(self, seniority: int) -> Generation:
        """Junior, senior or neither, from the seniority level alone (never age)."""
        if seniority <= self.junior_max_level:
            return "junior"
        if seniority >= self.senior_min_level:
            return "senior"
        return "other"

    def programme_weeks(self) -> tuple[date, ...]:
        """Mondays of the weeks a common slot must exist in: the pair engine's rule (each week that
        contains a programme day; a year from the one date given, or from its reference week)."""
        return MatchingPolicy(
            programme_start=self.programme_start, programme_end=self.programme_end
        ).programme_weeks()


@dataclass(frozen=True, slots=True)
class PinnedCircle:
    """HR's review: these members stay together (more may be added up to max_size); `facilitator_id`
    None lets the engine choose among them."""

    member_ids: tuple[str, ...]
    facilitator_id: str | None = None


@dataclass(frozen=True, slots=True)
class CircleScore:
    mix: float
    skills: float
    department_spread: float
    region_spread: float
    total: float


@dataclass(frozen=True, slots=True)
class Circle:
    member_ids: tuple[str, ...]
    facilitator_id: str
    language: str
    weekly_slot: tuple[int, int, int]  # (UTC weekday, start minute UTC, duration minutes)
    score: CircleScore
    explanation: str
    # When HR's pin forced something the rules forbid, what it breaks (empty otherwise): codes of
    # constraints.VIOLATION_CODES ("size", "juniors", "seniors", "language", "slot", "management",
    # "blocked", "facilitator"); the explanation says them in words.
    hard_violations: tuple[str, ...] = ()
    pinned: bool = False  # formed from HR's pin (its pinned members stay together)


@dataclass(frozen=True, slots=True)
class LeftOut:
    participant_id: str
    reason_code: str
    reason: str  # plain language


@dataclass(frozen=True, slots=True)
class CircleResult:
    circles: tuple[Circle, ...]
    left_out: tuple[LeftOut, ...]
    stats: Mapping[str, float] = field(default_factory=dict)


def form_circles(
    people: Sequence[Participant],
    policy: CirclePolicy,
    *,
    facilitator_eligible: frozenset[str],
    manager_of: Mapping[str, str | None],
    pinned: Sequence[PinnedCircle] = (),
    excluded: frozenset[str] = frozenset(),
    seed: int = 0,
) -> CircleResult:
    """Partitions `people` (minus `excluded`) into circles; deterministic for a given seed. Everyone
    not placed is in `left_out` with a reason."""
    from bridge_matching.domain.circles.formation import form

    return form(
        people,
        policy,
        facilitator_eligible=facilitator_eligible,
        manager_of=manager_of,
        pinned=pinned,
        excluded=excluded,
        seed=seed,
    )
