"""Human-readable explanations for pairs and for unmatched participants."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from .index import PopulationIndex
from .model import ScoreBreakdown, UnmatchedParticipant
from .scoring import CHECK_ORDER, check

Idx = npt.NDArray[np.intp]
I64 = npt.NDArray[np.int64]
Side = Literal["mentor", "mentee"]

_CHUNK = 2048


def _quote_list(items: list[str]) -> str:
    quoted = [f"'{s}'" for s in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def explain_pair(index: PopulationIndex, m: int, e: int, breakdown: ScoreBreakdown) -> str:
    mentor, mentee = index.people[m], index.people[e]
    parts: list[str] = []
    langs = sorted(mentor.languages & mentee.languages)
    parts.append("Both speak " + (" and ".join(langs) if len(langs) <= 2 else ", ".join(langs)))
    parts.append(f"{breakdown.overlap_hours:g} h/week overlap")
    teach = sorted(mentor.skills_to_share & mentee.skills_to_learn)
    if teach:
        parts.append(f"{mentor.name} can teach {mentee.name} {_quote_list(teach)}")
    back = sorted(mentee.skills_to_share & mentor.skills_to_learn)
    if back:
        parts.append(f"{mentee.name} can teach {mentor.name} {_quote_list(back)}")
    if mentor.department != mentee.department:
        parts.append(f"different departments ({mentor.department} / {mentee.department})")
    else:
        parts.append(f"same department ({mentor.department})")
    if mentee.id in mentor.requested_partner_ids and mentor.id in mentee.requested_partner_ids:
        parts.append("requested each other")
    elif mentee.id in mentor.requested_partner_ids:
        parts.append(f"requested by {mentor.name}")
    elif mentor.id in mentee.requested_partner_ids:
        parts.append(f"requested by {mentee.name}")
    return "; ".join(parts)


def breakdown_of(components: npt.NDArray[np.float64], total: float, overlap_minutes: int) -> ScoreBreakdown:
    return breakdown_from_values(components.tolist(), total, overlap_minutes)


def breakdown_from_values(c: list[float], total: float, overlap_minutes: int) -> ScoreBreakdown:
    """:func:`breakdown_of` from plain Python values (bulk ``tolist`` by the caller)."""
    return ScoreBreakdown(
        skills_mentor_to_mentee=round(c[0], 6),
        skills_mentee_to_mentor=round(c[1], 6),
        availability=round(c[2], 6),
        cross_department=round(c[3], 6),
        requested_partner=round(c[4], 6),
        total=round(total, 6),
        overlap_hours=round(overlap_minutes / 60.0, 2),
    )


def _messages(index: PopulationIndex, seeking: Side) -> dict[str, str]:
    other = seeking
    hours = f"{index.policy.min_overlap_hours:g}"
    senior = "less senior" if seeking == "mentor" else "more senior"
    return {
        "role": f"there are no {other}s in this cohort",
        "language": f"no {other} shares a language with this participant",
        "region": f"region policy ({index.policy.region_mode}) excludes all candidates",
        "seniority": f"no {other} is {senior}",
        "management": (f"every otherwise-compatible {other} is in a management chain with this participant"),
        "forbidden": (f"every otherwise-compatible {other} is blocked, excluded or a previous partner"),
        "availability": (
            f"availability overlaps by less than {hours} h/week with every otherwise-compatible {other}"
        ),
        "capacity": f"all compatible {other}s are at capacity",
        "not_selected": (
            f"compatible {other}s with free capacity exist but none was in this participant's"
            " sparse candidate list (top-K pruning, or an 'either' participant locked"
            " to the other role)"
        ),
    }


class ReasonFinder:
    """Finds *why* a participant is unmatched, looking only at what is needed.

    1. any compatible partner with spare capacity?  -> "not_selected"
    2. any compatible partner at all (a candidate edge, else an early-exit scan)?
       -> "capacity"
    3. otherwise the first hard constraint, in CHECK_ORDER, that eliminates every
       remaining candidate is the reason (only for genuinely stuck people).
    """

    def __init__(
        self,
        index: PopulationIndex,
        spare_mentor: I64,
        spare_mentee: I64,
        has_mentor_edge: npt.NDArray[np.bool_],
        has_mentee_edge: npt.NDArray[np.bool_],
    ) -> None:
        self.index = index
        # Candidate-graph edges are feasible pairs: having one proves a compatible
        # partner exists without scanning the population again.
        self.has_edge = {"mentor": has_mentor_edge, "mentee": has_mentee_edge}
        self.spare = {"mentor": spare_mentor, "mentee": spare_mentee}
        self.universe = {
            "mentor": np.flatnonzero(index.can_mentor),
            "mentee": np.flatnonzero(index.can_mentee),
        }
        self.messages = {side: _messages(index, side) for side in ("mentor", "mentee")}
        for msgs in self.messages.values():
            msgs["zero_capacity"] = "mentor capacity is 0"
        self.spare_pool = {
            side: self.universe[side][self.spare[side][self.universe[side]] > 0]
            for side in ("mentor", "mentee")
        }

    def _orient(self, p: int, others: Idx, seeking: Side) -> tuple[Idx, Idx]:
        mine = np.full(others.shape, p, dtype=np.intp)
        return (others, mine) if seeking == "mentor" else (mine, others)

    def _any_compatible(self, p: int, others: Idx, seeking: Side) -> bool:
        for lo in range(0, others.size, _CHUNK):
            chunk = others[lo : lo + _CHUNK]
            m, e = self._orient(p, chunk, seeking)
            alive = np.ones(chunk.size, dtype=np.bool_)
            for name in CHECK_ORDER:
                idx = np.flatnonzero(alive)
                alive[idx] = check(self.index, name, m[idx], e[idx])
            if alive.any():
                return True
        return False

    def reason_code(self, p: int, seeking: Side) -> str:
        if seeking == "mentee" and self.index.mentor_capacity[p] == 0:
            return "zero_capacity"
        if self._any_compatible(p, self.spare_pool[seeking], seeking):
            return "not_selected"
        others = self.universe[seeking]
        if self.has_edge[seeking][p] or self._any_compatible(p, others, seeking):
            return "capacity"
        m, e = self._orient(p, others, seeking)
        for name in CHECK_ORDER:
            ok = check(self.index, name, m, e)
            m, e = m[ok], e[ok]
            if m.size == 0:
                return name
        return "capacity"  # unreachable: _any_compatible said nobody survives

    def explain(self, p: int) -> UnmatchedParticipant:
        person = self.index.people[p]
        sides: list[Side] = []
        if person.can_be_mentee:
            sides.append("mentor")
        if person.can_mentor:
            sides.append("mentee")
        codes: list[str] = []
        texts: list[str] = []
        for seeking in sides:
            code = self.reason_code(p, seeking)
            codes.append(code)
            texts.append(self.messages[seeking][code])
        if len(sides) == 2:
            text = f"as mentee: {texts[0]}; as mentor: {texts[1]}"
            return UnmatchedParticipant(person.id, "/".join(codes), text)
        return UnmatchedParticipant(person.id, codes[0], texts[0])
