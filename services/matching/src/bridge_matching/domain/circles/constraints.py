"""Scalar, obviously-correct hard-constraint checker for one circle.

Independent of the engine's bitsets and arrays: it annotates HR's pinned circles (what a pin breaks is
shown, never hidden) and is the oracle of the property tests. Capacity (nobody in two circles) is a
property of the whole result, not of one circle, and is not checked here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bridge_matching.domain.circles.model import CirclePolicy
from bridge_matching.domain.circles.slots import common_slot_minutes
from bridge_matching.domain.engine.chains import ancestors
from bridge_matching.domain.engine.model import Participant

# The codes, in the order they are reported (stable: the API and events carry them).
VIOLATION_CODES = ("size", "juniors", "seniors", "language", "slot", "management", "blocked", "facilitator")


@dataclass(frozen=True, slots=True)
class Violation:
    code: str
    detail: str  # plain words, for the explanation


def circle_violations(
    members: Sequence[Participant],
    policy: CirclePolicy,
    *,
    facilitator_id: str | None,
    facilitator_eligible: frozenset[str],
    named_by_hr: bool = False,
    manager_of: Mapping[str, str | None],
) -> list[Violation]:
    """What this circle breaks (empty: nothing). ``named_by_hr``: HR chose the facilitator through a
    pin, which makes anyone a valid facilitator as long as they are a member. ``manager_of``: the
    whole org chart (a chain can run through managers who are not members; each member's own
    ``manager_id`` fills in where the chart has no entry)."""
    out: list[Violation] = []
    size = len(members)
    if not policy.min_size <= size <= policy.max_size:
        out.append(
            Violation("size", f"{size} members; the policy asks for {policy.min_size} to {policy.max_size}")
        )
    juniors = sum(1 for p in members if p.seniority <= policy.junior_max_level)
    seniors = sum(1 for p in members if p.seniority >= policy.senior_min_level)
    if juniors < policy.min_juniors:
        out.append(
            Violation(
                "juniors",
                f"{juniors} junior member(s) (level {policy.junior_max_level} or below); "
                f"the policy asks for at least {policy.min_juniors}",
            )
        )
    if seniors < policy.min_seniors:
        out.append(
            Violation(
                "seniors",
                f"{seniors} senior member(s) (level {policy.senior_min_level} or above); "
                f"the policy asks for at least {policy.min_seniors}",
            )
        )
    common = frozenset.intersection(*(p.languages for p in members)) if members else frozenset()
    if not common:
        out.append(Violation("language", "no language that every member speaks"))
    if policy.min_common_minutes > 0:
        minutes = common_slot_minutes(
            [(p.availability, p.time_zone) for p in members], policy.programme_weeks()
        )
        if minutes < policy.min_common_minutes:
            out.append(
                Violation(
                    "slot",
                    f"the longest time every member is free is {minutes} minutes in some week; "
                    f"the policy asks for {policy.min_common_minutes}",
                )
            )
    chart: dict[str, str | None] = dict(manager_of)
    for p in members:
        chart.setdefault(p.id, p.manager_id)
    names = {p.id: p.name for p in members}
    ids = names.keys()
    depth = policy.management_exclusion_depth
    chain = sorted(
        (p.id, boss)
        for p in members
        for boss in ancestors(p.id, chart, depth)
        if boss in ids and boss != p.id
    )
    if chain:
        said = "; ".join(f"{names[boss]} is in {names[emp]}'s reporting line" for emp, boss in chain)
        out.append(Violation("management", f"within {depth} level(s) of one reporting line: {said}"))
    blocked = sorted(
        (p.id, other) for p in members for other in p.blocked_partner_ids if other in ids and other != p.id
    )
    if blocked:
        said = "; ".join(f"{names[a]} blocked {names[b]}" for a, b in blocked)
        out.append(Violation("blocked", said))
    if facilitator_id is None or facilitator_id not in ids:
        out.append(Violation("facilitator", "the facilitator is not a member"))
    elif not named_by_hr and facilitator_id not in facilitator_eligible:
        out.append(Violation("facilitator", f"{names[facilitator_id]} is not facilitator-eligible"))
    return out
