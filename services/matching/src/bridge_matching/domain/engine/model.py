"""Engine-level value objects.

Frozen, slotted dataclasses: cheap to build at 50k participants and hashable so
callers can put them in sets. No persistence or transport concerns live here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["mentor", "mentee", "either"]
PairOrigin = Literal["matched", "pinned", "fixed"]
# How a participant would rather meet: "either" does not mind (the profile's values).
MeetingPreference = Literal["in_person", "video", "either"]
MEETING_PREFERENCES: tuple[MeetingPreference, ...] = ("in_person", "video", "either")


def _hhmm_to_minutes(value: str) -> int:
    hours, _, minutes = value.partition(":")
    total = int(hours) * 60 + int(minutes)
    if not 0 <= total <= 24 * 60 or not 0 <= int(minutes) < 60:
        raise ValueError(f"invalid HH:MM time {value!r}")
    return total


@dataclass(frozen=True, slots=True)
class AvailabilityWindow:
    """A weekly recurring window in the participant's *local* time.

    ``end`` may be "24:00". If ``end`` <= ``start`` the window runs past local
    midnight into the next weekday (e.g. Sunday 22:00-02:00 ends Monday).
    """

    weekday: int  # 0 = Monday ... 6 = Sunday
    start: str  # "HH:MM"
    end: str  # "HH:MM"

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0..6, got {self.weekday}")
        if self.start_minute == 24 * 60:
            raise ValueError("a window cannot start at 24:00")
        _hhmm_to_minutes(self.end)

    @property
    def start_minute(self) -> int:
        return _hhmm_to_minutes(self.start)

    @property
    def duration_minutes(self) -> int:
        start, end = self.start_minute, _hhmm_to_minutes(self.end)
        return end - start if end > start else end + 24 * 60 - start


def _fs(values: Iterable[str]) -> frozenset[str]:
    return values if isinstance(values, frozenset) else frozenset(values)


@dataclass(frozen=True, slots=True)
class Participant:
    id: str
    role: Role
    seniority: int  # higher = more senior
    department: str
    manager_id: str | None
    region: str
    languages: frozenset[str]
    time_zone: str  # IANA name, e.g. "Asia/Kolkata"
    availability: tuple[AvailabilityWindow, ...]
    skills_to_share: frozenset[str] = frozenset()
    skills_to_learn: frozenset[str] = frozenset()
    capacity: int = 1  # mentees a mentor takes; ignored when acting as mentee
    requested_partner_ids: frozenset[str] = frozenset()
    blocked_partner_ids: frozenset[str] = frozenset()
    display_name: str | None = None  # only used in explanations
    # Soft criterion (``Weights.meeting_preference``): compatible when equal or either says "either".
    meeting_preference: MeetingPreference = "either"

    def __post_init__(self) -> None:
        # Accept any iterable from callers but store immutable sets/tuples.
        object.__setattr__(self, "languages", _fs(self.languages))
        object.__setattr__(self, "skills_to_share", _fs(self.skills_to_share))
        object.__setattr__(self, "skills_to_learn", _fs(self.skills_to_learn))
        object.__setattr__(self, "requested_partner_ids", _fs(self.requested_partner_ids))
        object.__setattr__(self, "blocked_partner_ids", _fs(self.blocked_partner_ids))
        if not isinstance(self.availability, tuple):
            object.__setattr__(self, "availability", tuple(self.availability))
        if self.role not in ("mentor", "mentee", "either"):
            raise ValueError(f"unknown role {self.role!r}")
        if self.capacity < 0:
            raise ValueError("capacity must be >= 0")
        if self.meeting_preference not in MEETING_PREFERENCES:
            raise ValueError(f"unknown meeting preference {self.meeting_preference!r}")

    @property
    def name(self) -> str:
        return self.display_name or self.id

    @property
    def can_mentor(self) -> bool:
        return self.role != "mentee"

    @property
    def can_be_mentee(self) -> bool:
        return self.role != "mentor"


@dataclass(frozen=True, slots=True)
class Pair:
    """An oriented pair: ``mentor_id`` mentors ``mentee_id``."""

    mentor_id: str
    mentee_id: str


@dataclass(frozen=True, slots=True)
class ScoreBreakdown:
    """Each component is in [0, 1]; ``total`` is the policy-weighted sum."""

    skills_mentor_to_mentee: float
    skills_mentee_to_mentor: float
    availability: float
    cross_department: float
    requested_partner: float
    meeting_preference: float  # 1 when the two meeting preferences are compatible, else 0
    total: float
    overlap_hours: float


@dataclass(frozen=True, slots=True)
class MatchedPair:
    mentor_id: str
    mentee_id: str
    score: float
    breakdown: ScoreBreakdown
    explanation: str
    origin: PairOrigin = "matched"
    # Only pinned/fixed pairs can carry these: they are kept as given.
    hard_violations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UnmatchedParticipant:
    participant_id: str
    reason_code: str
    reason: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    partner_id: str
    as_role: Literal["mentor", "mentee"]  # the *partner's* role in the pair
    score: float
    breakdown: ScoreBreakdown
    explanation: str


@dataclass(frozen=True, slots=True)
class MatchStats:
    participants: int
    free_participants: int
    candidate_edges: int
    total_score: float
    matched_participants: int
    # No feasible pairing of the whole cohort (every pair, not only the candidates the
    # solver started from) scores more than this: the certificate of the pairing LP.
    # Score units plus 1e-6 per pair (the solver's tie-break unit).
    upper_bound: float
    # True only when the pairing reaches ``upper_bound``: optimal on the full graph.
    proven_optimal: bool
    solver_calls: int
    # (upper_bound - value) / upper_bound: how far from optimal the pairing can be at most.
    certified_gap: float = 0.0
    pricing_rounds: int = 0
    priced_pairs: int = 0  # pairs the exhaustive scans looked at
    # Per quota of the policy: the score it costs (the pairing LP with the quota lifted,
    # minus with it, on the generated pairs: an estimate from below).
    quota_costs: dict[str, float] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MatchResult:
    pairs: tuple[MatchedPair, ...]
    unmatched: tuple[UnmatchedParticipant, ...]
    stats: MatchStats

    @property
    def total_score(self) -> float:
        return self.stats.total_score


PairLike = Pair | MatchedPair | tuple[str, str]


def pair_ids(pair: PairLike) -> tuple[str, str]:
    """(mentor_id, mentee_id) from a Pair, a MatchedPair or a plain tuple."""
    if isinstance(pair, tuple):
        return pair
    return pair.mentor_id, pair.mentee_id
