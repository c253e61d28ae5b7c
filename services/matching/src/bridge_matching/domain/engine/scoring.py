"""Vectorised hard-constraint checks and soft scores for arrays of oriented pairs.

Every function takes parallel arrays ``mentors[k]``/``mentees[k]`` of population
positions, so work is proportional to the number of *candidate* pairs, never N x M.

The score of a pair is ``Weights.as_tuple() @ components``, one component per soft criterion,
each in [0, 1] (``COMPONENTS``, in that order). The pricing kernel (``kernels.py``) prunes with an
upper bound of this sum: a criterion added here must be added to that bound too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .index import PopulationIndex

Idx = npt.NDArray[np.intp]
BoolA = npt.NDArray[np.bool_]
F64 = npt.NDArray[np.float64]

# Integer cost scale for the solver: scores are rounded to 1e-6.
SCORE_SCALE = 1_000_000
_SCORE_CHUNK = 1 << 16

# The soft criteria, in the order of ``Scores.components`` and ``Weights.as_tuple()``.
COMPONENTS = (
    "skills_mentor_to_mentee",
    "skills_mentee_to_mentor",
    "availability",
    "cross_department",
    "requested_partner",
    "meeting_preference",
)

# Hard constraints in the order used to explain why someone stays unmatched.
CHECK_ORDER = (
    "role",
    "language",
    "region",
    "seniority",
    "management",
    "forbidden",
    "availability",
)


def _any_common(bits: npt.NDArray[np.uint64], a: Idx, b: Idx) -> BoolA:
    return np.asarray((bits[a] & bits[b]).any(axis=1), dtype=np.bool_)


def check(index: PopulationIndex, name: str, m: Idx, e: Idx) -> BoolA:
    """Boolean mask: which pairs satisfy hard constraint ``name``."""
    policy = index.policy
    if name == "role":
        out: BoolA = index.can_mentor[m] & index.can_mentee[e] & (m != e)
        return out
    if name == "language":
        return _any_common(index.lang_bits, m, e)
    if name == "region":
        if policy.region_mode == "same_region":
            return np.asarray(index.region[m] == index.region[e])
        if policy.region_mode == "cross_region":
            return np.asarray(index.region[m] != index.region[e])
        return np.ones(m.shape, dtype=np.bool_)
    if name == "seniority":
        return np.asarray(index.seniority[m] < index.seniority[e])
    if name == "management":
        if policy.management_exclusion_depth == 0:
            return np.ones(m.shape, dtype=np.bool_)
        bad = np.zeros(m.shape, dtype=np.bool_)
        for col in index.ancestor_cols:  # k-th manager up, for everyone
            bad |= col[e] == m
            bad |= col[m] == e
        return ~bad
    if name == "forbidden":
        return ~index.contains(index.forbidden, m, e)
    if name == "availability":
        minutes = index.avail.overlap_minutes(m, e)
        return np.asarray(minutes >= policy.min_overlap_hours * 60)
    raise ValueError(f"unknown check {name!r}")


def feasible(index: PopulationIndex, m: Idx, e: Idx) -> BoolA:
    """All hard constraints except capacity."""
    return feasible_with_overlap(index, m, e)[0]


def feasible_with_overlap(
    index: PopulationIndex, m: Idx, e: Idx, *, known: frozenset[str] = frozenset()
) -> tuple[BoolA, npt.NDArray[np.int64]]:
    """Feasibility mask plus overlap minutes of the feasible pairs (in order).

    Filters progressively: cheap checks first so the costly availability popcount
    runs only on survivors, and its result is reused for scoring. ``known`` names
    checks that the caller guarantees by construction (e.g. pools drawn from
    language blocks of less senior mentors); they are skipped.
    """
    alive: Idx | None = None  # None: every pair is still alive
    deferred: BoolA | None = None  # failures too rare to be worth compacting for
    mm, ee = m, e
    for name in CHECK_ORDER[:-1]:
        if name in known:
            continue
        ok = check(index, name, mm, ee)
        if deferred is not None:
            ok &= deferred
        if ok.all():
            deferred = None
            continue
        if 8 * int(np.count_nonzero(ok)) >= 7 * ok.size:
            # Copying every surviving pair costs more than checking the few failed
            # ones further; they are masked out at the end.
            deferred = ok
            continue
        deferred = None
        keep = np.flatnonzero(ok)
        alive = keep if alive is None else alive[keep]
        mm, ee = mm[keep], ee[keep]
    minutes = index.avail.overlap_minutes(mm, ee)
    # Integer minutes: ``minutes >= x`` is ``minutes >= ceil(x)``, without a float copy.
    ok = minutes >= math.ceil(index.policy.min_overlap_hours * 60)
    if deferred is not None:
        ok &= deferred
    if alive is None:
        return ok, minutes[ok]
    mask = np.zeros(m.shape, dtype=np.bool_)
    mask[alive[ok]] = True
    return mask, minutes[ok]


@dataclass(frozen=True, slots=True)
class Scores:
    components: F64  # shape (len(COMPONENTS), E), each in [0, 1]
    total: F64  # shape (E,)
    overlap_minutes: npt.NDArray[np.int64]

    def cost_units(self) -> npt.NDArray[np.int64]:
        # +1 so a feasible zero-score pair still beats leaving both people unmatched.
        return np.rint(self.total * SCORE_SCALE).astype(np.int64) + 1


def _coverage(
    give: npt.NDArray[np.uint64],
    want: npt.NDArray[np.uint64],
    count: npt.NDArray[np.int64],
    a: Idx,
    b: Idx,
) -> F64:
    hits = np.zeros(a.shape, dtype=np.int64)
    for g, w in zip(give.T, want.T, strict=True):  # one 1-D gather per word
        both = np.take(g, a)
        both &= np.take(w, b)
        hits += np.bitwise_count(both)
    denom = count[b]
    return np.where(denom > 0, hits / np.maximum(denom, 1), 0.0)


def score(index: PopulationIndex, m: Idx, e: Idx, overlap: npt.NDArray[np.int64] | None = None) -> Scores:
    policy = index.policy
    w = np.array(policy.weights.as_tuple(), dtype=np.float64)
    if overlap is None:
        overlap = index.avail.overlap_minutes(m, e)
    comps = np.empty((len(COMPONENTS), m.size), dtype=np.float64)
    # Element-wise work in cache-sized chunks (no edge-sized temporaries); the
    # weighted sum stays one product over all edges.
    for lo in range(0, m.size, _SCORE_CHUNK):
        mc, ec = m[lo : lo + _SCORE_CHUNK], e[lo : lo + _SCORE_CHUNK]
        hi = lo + mc.size
        comps[0, lo:hi] = _coverage(index.share_bits, index.learn_bits, index.learn_count, mc, ec)
        comps[1, lo:hi] = _coverage(index.share_bits, index.learn_bits, index.learn_count, ec, mc)
        np.minimum(overlap[lo:hi] / (policy.overlap_target_hours * 60.0), 1.0, out=comps[2, lo:hi])
        comps[3, lo:hi] = index.department[mc] != index.department[ec]
        # Compatible meeting preferences: the two sets of ways to meet intersect (index.MEETING_BITS).
        comps[5, lo:hi] = (index.meeting[mc] & index.meeting[ec]) != 0
    comps[4] = index.contains(index.requested, m, e)
    total = w @ comps
    return Scores(comps, total, overlap)
