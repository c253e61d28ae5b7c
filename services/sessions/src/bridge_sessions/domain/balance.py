"""The balance index: how two-way the exchange is.

Over the topics of a set of held sessions, with a = topics mentor_to_mentee (the reverse mentor
teaching the leader) and b = topics mentee_to_mentor (the leader advising back):

    balance = 2 * min(a, b) / (a + b)        in [0, 1]

1.0 is an even exchange, 0.0 is entirely one way; None when there are no topics. Equivalently the
share of topics in the minority direction, doubled. Sessions computes it over the last N held
sessions (setting `balance_window_sessions`); reporting computes the same from session.held events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

MENTOR_TO_MENTEE = "mentor_to_mentee"
MENTEE_TO_MENTOR = "mentee_to_mentor"


def direction_counts(topics: Iterable[Mapping[str, object]]) -> tuple[int, int]:
    a = b = 0
    for t in topics:
        if t["direction"] == MENTOR_TO_MENTEE:
            a += 1
        elif t["direction"] == MENTEE_TO_MENTOR:
            b += 1
    return a, b


def balance_index(a: int, b: int) -> float | None:
    if a < 0 or b < 0:
        raise ValueError("counts cannot be negative")
    total = a + b
    if total == 0:
        return None
    return 2 * min(a, b) / total


def dominant_direction(a: int, b: int) -> str | None:
    if a == b:
        return None
    return MENTOR_TO_MENTEE if a > b else MENTEE_TO_MENTOR
