"""The cohort life cycle: draft -> enrolling -> matching -> active -> closing -> closed."""

from __future__ import annotations

from typing import Literal

Phase = Literal["draft", "enrolling", "matching", "active", "closing", "closed"]
PHASES: tuple[Phase, ...] = ("draft", "enrolling", "matching", "active", "closing", "closed")

# Only forward, one step at a time. Anything else is refused with 409.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"enrolling"}),
    "enrolling": frozenset({"matching"}),
    "matching": frozenset({"active"}),
    "active": frozenset({"closing"}),
    "closing": frozenset({"closed"}),
    "closed": frozenset(),
}

# What each phase allows.
ENROLMENT_PHASES = frozenset({"draft", "enrolling"})  # HR enrolment and HRIS imports
PROFILE_EDIT_PHASES = frozenset({"draft", "enrolling", "matching", "active"})
POLICY_EDIT_PHASES = frozenset({"draft", "enrolling", "matching"})
MATCHING_PHASES = frozenset({"matching", "active"})  # runs, publish, suggestions, proposals
OVERRIDE_PHASES = frozenset({"matching", "active", "closing"})


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())
