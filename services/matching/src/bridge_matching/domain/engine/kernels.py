"""Compiled inner loop of the exhaustive pricing scan (numba).

At 50k participants certifying a pairing means looking at every (mentor, mentee)
pair that shares a language and respects seniority, about 5 x 10^8 of them. In numpy
every such pair would be materialised in several temporary arrays; this loop looks at
each pair once, in registers, and keeps only the pairs whose score *upper bound*
beats the mentee's floor. Everything it computes is a bound or a necessary condition:
the exact checks and scores are done afterwards, in numpy, on the few survivors, by
the same code as everywhere else (``scoring.py``), so this file decides speed, never
a result.

Bound used for a pair (mentor m, mentee e), every term exact or an upper bound:
    w0 * |share_m & learn_e| / |learn_e| + w1 * |share_e & learn_m| / |learn_m|
    + w2 * min(overlap_one_week / target, 1) + w3 * [different departments]
    + w5 * [meeting preferences compatible] + unit
where the overlap in one week of the programme bounds the minimum over all its
weeks. A pair with less than the minimum overlap in that week is infeasible.
The requested-partner bonus (w4) is left out: requested pairs are always priced
(``pricing.Pricer``). ``w`` is ``Weights.as_tuple()``, in ``scoring.COMPONENTS`` order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic


@intrinsic
def _ctpop(typingctx: object, x: types.Integer) -> tuple[object, object]:
    """The CPU's population count (LLVM ``ctpop``)."""
    sig = types.uint64(types.uint64)

    def codegen(context: object, builder: ir.IRBuilder, signature: object, args: list[ir.Value]) -> ir.Value:
        return builder.ctpop(args[0])

    return sig, codegen


# The intrinsic's Python signature is numba's (typing context first); compiled code calls
# it with one argument, which is what this alias tells the type checker.
_popcount = cast(Callable[[np.uint64], np.uint64], _ctpop)


@njit(cache=True, nogil=True)
def _scan_one(
    e: int,
    floor: float,
    upto: int,
    mentors: np.ndarray,
    share_cols: np.ndarray,
    learn_cols: np.ndarray,
    back_weight: np.ndarray,
    lang: np.ndarray,
    share: np.ndarray,
    learn: np.ndarray,
    share_weight: np.ndarray,
    dept: np.ndarray,
    region: np.ndarray,
    meet: np.ndarray,
    region_mode: int,
    avail: np.ndarray,
    slot: float,
    min_minutes: float,
    target_minutes: float,
    w: np.ndarray,
    lang_ord: np.ndarray,
    dept_ord: np.ndarray,
    region_ord: np.ndarray,
    meet_ord: np.ndarray,
    avail_ord: np.ndarray,
    acc: np.ndarray,
    out: np.ndarray,
    cap: int,
    heap: np.ndarray,
    raised: np.ndarray,
    at: int,
) -> int:
    """Survivors among the first ``upto`` mentors (by seniority) for mentee ``e``.

    With ``cap > 0`` only the ``cap`` pairs with the highest bounds survive: a min-heap of
    bounds (``heap``, scratch) raises the floor as it fills, and ``raised[at]`` gets the
    floor that every pair left out is under (the lowest bound kept once ``cap`` are kept).

    Phase 1 computes the skill part of every pair's bound over contiguous,
    mentor-major columns (``share_cols[k, j]`` = word k of the j-th mentor's offered
    skills), a loop the compiler vectorises. Phase 2 looks only at the pairs whose
    skill part leaves room to beat the floor.
    """
    n_lang = lang.shape[1]
    n_skill = share.shape[1]
    n_avail = avail.shape[1]
    # Phase 2 reads mentor-side data in seniority order (``*_ord[j]``), so a mentee's
    # pass streams through memory instead of jumping between people.
    per_wanted = share_weight[e, 0]
    acc[:upto] = 0.0
    for k in range(n_skill):
        wanted = learn[e, k]
        if wanted != 0:
            col = share_cols[k]
            for j in range(upto):
                acc[j] += per_wanted * float(_popcount(col[j] & wanted))
        offered = share[e, k]
        if offered != 0:
            col = learn_cols[k]
            for j in range(upto):
                acc[j] += back_weight[j] * float(_popcount(col[j] & offered))
    # The most the terms after the skills can add: availability, department, meeting preference.
    rest = w[2] + w[3] + w[5]
    skill_floor = floor - rest
    lang_e = lang[e]
    avail_e = avail[e]
    dept_e = dept[e]
    region_e = region[e]
    meet_e = meet[e]
    found = 0
    for j in range(upto):
        v = acc[j]
        if v <= skill_floor:
            continue
        common = False
        for k in range(n_lang):
            if lang_ord[j, k] & lang_e[k]:
                common = True
                break
        if not common or mentors[j] == e:
            continue
        if region_mode == 1 and region_ord[j] != region_e:
            continue
        if region_mode == 2 and region_ord[j] == region_e:
            continue
        if dept_ord[j] != dept_e:
            v += w[3]
        if meet_ord[j] & meet_e:  # compatible meeting preferences (index.MEETING_BITS)
            v += w[5]
        if v + w[2] <= floor:
            continue
        ov = np.uint64(0)
        for k in range(n_avail):
            ov += _popcount(avail_ord[j, k] & avail_e[k])
        minutes = float(ov) * slot
        if minutes < min_minutes:
            continue
        v += w[2] * min(minutes / target_minutes, 1.0)
        if v > floor:
            if cap == 0:
                if found < out.size:
                    out[found] = mentors[j]
                found += 1
            elif found < cap:
                _heap_push(heap, out, found, v, mentors[j])
                found += 1
                if found == cap:
                    floor = heap[0]
                    skill_floor = floor - rest
            else:
                _heap_replace(heap, out, cap, v, mentors[j])
                floor = heap[0]
                skill_floor = floor - rest
    if cap > 0:
        raised[at] = floor
    return found


@njit(cache=True, nogil=True)
def _heap_push(heap: np.ndarray, ids: np.ndarray, size: int, v: float, j: int) -> None:
    """Adds (v, j) to the min-heap of ``size`` entries (``heap`` the keys, ``ids`` beside)."""
    i = size
    while i > 0:
        parent = (i - 1) // 2
        if heap[parent] <= v:
            break
        heap[i] = heap[parent]
        ids[i] = ids[parent]
        i = parent
    heap[i] = v
    ids[i] = j


@njit(cache=True, nogil=True)
def _heap_replace(heap: np.ndarray, ids: np.ndarray, size: int, v: float, j: int) -> None:
    """Replaces the smallest entry of the full min-heap by (v, j)."""
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and heap[child + 1] < heap[child]:
            child += 1
        if heap[child] >= v:
            break
        heap[i] = heap[child]
        ids[i] = ids[child]
        i = child
    heap[i] = v
    ids[i] = j


PER_MENTEE = 256  # survivors kept per mentee in the single pass; more -> that mentee is rescanned
_CHUNKS = 64  # mentee chunks handed to threads (each owns one scratch buffer)


@njit(cache=True, parallel=True)
def scan(
    mentees: np.ndarray,
    floors: np.ndarray,
    upto: np.ndarray,
    mentors: np.ndarray,
    share_cols: np.ndarray,
    learn_cols: np.ndarray,
    back_weight: np.ndarray,
    lang: np.ndarray,
    share: np.ndarray,
    learn: np.ndarray,
    share_weight: np.ndarray,
    dept: np.ndarray,
    region: np.ndarray,
    meet: np.ndarray,
    region_mode: int,
    avail: np.ndarray,
    slot: float,
    min_minutes: float,
    target_minutes: float,
    w: np.ndarray,
    lang_ord: np.ndarray,
    dept_ord: np.ndarray,
    region_ord: np.ndarray,
    meet_ord: np.ndarray,
    avail_ord: np.ndarray,
    cap: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mentor, mentee) of every pair whose bound beats the mentee's floor, and per mentee the
    floor every pair left out is under: with ``cap > 0`` only each mentee's ``cap`` highest
    bounds are kept and that floor can be higher than the one given (see ``_scan_one``).

    ``mentors`` is sorted by seniority and ``upto[i]`` is how many of them are less
    senior than ``mentees[i]``. One parallel pass keeps up to PER_MENTEE survivors
    per mentee in its own row (no locks); the rare mentee with more is scanned again
    into a buffer of the exact size.
    """
    k = mentees.size
    counts = np.zeros(k, dtype=np.int64)
    rows = np.empty((k, max(PER_MENTEE, cap)), dtype=np.int64)
    raised = floors.copy()
    step = (k + _CHUNKS - 1) // _CHUNKS
    for c in prange(_CHUNKS):
        acc = np.empty(mentors.size, dtype=np.float64)
        heap = np.empty(max(cap, 1), dtype=np.float64)
        for i in range(c * step, min(k, (c + 1) * step)):
            counts[i] = _scan_one(
                mentees[i], floors[i], upto[i], mentors, share_cols, learn_cols, back_weight, lang, share,
                learn, share_weight, dept, region, meet, region_mode, avail, slot, min_minutes,
                target_minutes, w, lang_ord, dept_ord, region_ord, meet_ord, avail_ord, acc, rows[i], cap,
                heap, raised, i,
            )  # fmt: skip
    starts = np.zeros(k + 1, dtype=np.int64)
    for i in range(k):
        starts[i + 1] = starts[i] + counts[i]
    out_m = np.empty(starts[k], dtype=np.int64)
    out_e = np.empty(starts[k], dtype=np.int64)
    for c in prange(_CHUNKS):
        acc = np.empty(mentors.size, dtype=np.float64)
        for i in range(c * step, min(k, (c + 1) * step)):
            n_found = counts[i]
            if n_found <= rows.shape[1]:  # always so with a cap
                out_m[starts[i] : starts[i] + n_found] = rows[i, :n_found]
            else:
                _scan_one(
                    mentees[i], floors[i], upto[i], mentors, share_cols, learn_cols, back_weight, lang,
                    share, learn, share_weight, dept, region, meet, region_mode, avail, slot, min_minutes,
                    target_minutes, w, lang_ord, dept_ord, region_ord, meet_ord, avail_ord, acc,
                    out_m[starts[i] : starts[i + 1]], 0, acc, raised, i,
                )  # fmt: skip
            out_e[starts[i] : starts[i + 1]] = mentees[i]
    return out_m, out_e, raised
