"""Scalar, obviously-correct hard-constraint checker for a single pair.

Independent of the vectorised path in ``scoring.py``: used to annotate pinned
pairs and as the oracle in tests. Capacity is not pairwise and is not checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .availability import programme_overlap_minutes
from .chains import ancestors
from .model import PairLike, Participant, pair_ids
from .policy import MatchingPolicy


def _unordered(pairs: Iterable[PairLike]) -> set[frozenset[str]]:
    out: set[frozenset[str]] = set()
    for p in pairs:
        out.add(frozenset(pair_ids(p)))
    return out


def pair_violations(
    mentor: Participant,
    mentee: Participant,
    policy: MatchingPolicy,
    *,
    manager_of: Mapping[str, str | None],
    history: Iterable[PairLike] = (),
    excluded_pairs: Iterable[PairLike] = (),
) -> list[str]:
    """Names of the hard constraints that ``mentor`` mentoring ``mentee`` breaks."""
    out: list[str] = []
    if mentor.id == mentee.id or not mentor.can_mentor or not mentee.can_be_mentee:
        out.append("role")
    if not mentor.languages & mentee.languages:
        out.append("language")
    if policy.region_mode == "same_region" and mentor.region != mentee.region:
        out.append("region")
    if policy.region_mode == "cross_region" and mentor.region == mentee.region:
        out.append("region")
    if not mentor.seniority < mentee.seniority:
        out.append("seniority")
    depth = policy.management_exclusion_depth
    if mentor.id in ancestors(mentee.id, manager_of, depth) or mentee.id in ancestors(
        mentor.id, manager_of, depth
    ):
        out.append("management")
    key = frozenset((mentor.id, mentee.id))
    blocked = mentee.id in mentor.blocked_partner_ids or mentor.id in mentee.blocked_partner_ids
    repeat = not policy.allow_repeat_partners and key in _unordered(history)
    if blocked or repeat or key in _unordered(excluded_pairs):
        out.append("forbidden")
    if pair_overlap_minutes(mentor, mentee, policy) < policy.min_overlap_hours * 60:
        out.append("availability")
    return out


def pair_overlap_minutes(a: Participant, b: Participant, policy: MatchingPolicy) -> int:
    """Weekly overlap of two people under ``policy``: the minimum over every week of the
    programme (``policy.programme_weeks()``), each week with its own UTC offsets."""
    weeks = policy.programme_weeks()
    return programme_overlap_minutes(a.availability, a.time_zone, b.availability, b.time_zone, weeks)
