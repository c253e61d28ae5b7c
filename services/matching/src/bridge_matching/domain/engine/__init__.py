"""Pure matching engine: no database, HTTP or messaging.

Entry points: :func:`run_matching` and :func:`suggest`.
"""

from .chains import ancestors, management_chains
from .constraints import pair_violations
from .engine import (
    PreparedCohort,
    SuggestionIndex,
    SuggestionInputs,
    prepare,
    prepare_suggestions,
    run_matching,
    suggest,
    suggest_prepared,
    warm_up,
)
from .lp import QuotaInfeasibleError
from .model import (
    AvailabilityWindow,
    MatchedPair,
    MatchResult,
    MatchStats,
    MeetingPreference,
    Pair,
    PairLike,
    Participant,
    Role,
    ScoreBreakdown,
    Suggestion,
    UnmatchedParticipant,
)
from .policy import MatchingPolicy, RegionMode, Weights
from .suggestion_cache import SuggestionCache

__all__ = [
    "AvailabilityWindow",
    "MatchResult",
    "MatchStats",
    "MatchedPair",
    "MatchingPolicy",
    "MeetingPreference",
    "Pair",
    "PairLike",
    "Participant",
    "PreparedCohort",
    "QuotaInfeasibleError",
    "RegionMode",
    "Role",
    "ScoreBreakdown",
    "Suggestion",
    "SuggestionCache",
    "SuggestionIndex",
    "SuggestionInputs",
    "UnmatchedParticipant",
    "Weights",
    "ancestors",
    "management_chains",
    "pair_violations",
    "prepare",
    "prepare_suggestions",
    "run_matching",
    "suggest",
    "suggest_prepared",
    "warm_up",
]
