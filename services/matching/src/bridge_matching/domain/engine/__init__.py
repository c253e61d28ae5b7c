"""Pure matching engine: no database, HTTP or messaging.

Entry points: :func:`run_matching` and :func:`suggest`.
"""

from .chains import ancestors, management_chains
from .constraints import pair_violations
from .engine import PreparedCohort, prepare, run_matching, suggest, warm_up
from .lp import QuotaInfeasibleError
from .model import (
    AvailabilityWindow,
    MatchedPair,
    MatchResult,
    MatchStats,
    Pair,
    PairLike,
    Participant,
    Role,
    ScoreBreakdown,
    Suggestion,
    UnmatchedParticipant,
)
from .policy import MatchingPolicy, RegionMode, Weights

__all__ = [
    "AvailabilityWindow",
    "MatchResult",
    "MatchStats",
    "MatchedPair",
    "MatchingPolicy",
    "Pair",
    "PairLike",
    "Participant",
    "PreparedCohort",
    "QuotaInfeasibleError",
    "RegionMode",
    "Role",
    "ScoreBreakdown",
    "Suggestion",
    "UnmatchedParticipant",
    "Weights",
    "ancestors",
    "management_chains",
    "pair_violations",
    "prepare",
    "run_matching",
    "suggest",
    "warm_up",
]
