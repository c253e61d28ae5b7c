"""The exchange index: whether learning in a circle flows both ways between the generations.

The circle's learning record says who taught what to whom. Over the flows between generations, with
a = flows junior -> senior (early-career people teaching senior leaders: digital and social media
practice) and b = flows senior -> junior (business and industry practice):

    exchange = 2 * min(a, b) / (a + b)        in [0, 1]

the pair balance index's formula (domain/balance.py, contracts/sessions.py TopicCovered) over
generations instead of sides: 1.0 is an even exchange, 0.0 entirely one way; None when no learning
crossed generations. Flows within a generation, and to or from members of the middle band
("other"), are learning too but not an exchange between generations: they count for neither.
Sessions computes the circle's running index over every held session (`circle_session.held`'s
`exchange_index`, the circle's health report); reporting computes the same from the flows'
generations in those events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bridge_sessions.domain.balance import balance_index

JUNIOR_TO_SENIOR = ("junior", "senior")
SENIOR_TO_JUNIOR = ("senior", "junior")


def flow_counts(flows: Iterable[Mapping[str, object]]) -> tuple[int, int]:
    """(a, b): learning flows junior -> senior and senior -> junior, from `from_generation` and
    `to_generation`."""
    a = b = 0
    for f in flows:
        direction = (f["from_generation"], f["to_generation"])
        if direction == JUNIOR_TO_SENIOR:
            a += 1
        elif direction == SENIOR_TO_JUNIOR:
            b += 1
    return a, b


def exchange_index(a: int, b: int) -> float | None:
    """2*min(a,b)/(a+b); None when a + b = 0 (no learning crossed generations)."""
    return balance_index(a, b)
