"""Exhaustive pricing: every feasible pair whose reduced cost beats a threshold.

Column generation solves the pairing LP on a sparse candidate graph and then asks:
is there a feasible (mentor, mentee) pair *anywhere in the cohort* whose reduced cost
``w(m, e) - alpha[m] - beta[e]`` is above ``tau``? Since ``alpha >= 0``, such a pair has
``w(m, e) > beta[e] + tau``: its weight beats the mentee's *floor*.

The pricer keeps a *pool*: for every mentee, every feasible pair whose exact weight
beats a floor chosen a margin below the mentee's price when the mentee was last
scanned. While a mentee's ``beta + tau`` stays at or above that floor, every pair that
could price out for it is in the pool, so a round of pricing is one vectorised pass
over the pool. A mentee whose price fell below its floor is scanned again, over the
whole cohort, by the compiled loop in ``kernels.py`` (bounds only), and the survivors
get the exact checks and scores of ``scoring.py``.

A mentee's first three scans keep at most SCAN_CAPS pairs, those with the highest bounds (the
compiled loop keeps them in a heap and prunes with the heap's least as it fills), and the floor
rises to what the pairs left out can weigh. Early in column generation the prices are far below
their final values, and an uncapped pool would hold millions of pairs no round needs. A capped
mentee's price can then sit below its floor: the pairs it cannot see are worth at most
``floor - beta``, which ``Priced.unseen`` reports (the certificate adds it to the bound). The next
rounds rescan such a mentee with a larger cap, then with none; ``price(exhaustive=True)`` rescans
it uncapped at once, as the last round of column generation and the exact search do.

Requested pairs carry a bonus the scan's bound leaves out, so they are always in the
pool (when feasible), whatever their weight.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from . import kernels
from .candidates import top_k
from .index import PopulationIndex
from .scoring import SCORE_SCALE, feasible_with_overlap, score

Idx = npt.NDArray[np.intp]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
BoolA = npt.NDArray[np.bool_]

UNIT = 1.0 / SCORE_SCALE
# Slack against LP tolerances and float rounding: bounds may let a few extra pairs
# through to the exact check, never keep one out.
SAFETY = 1e-7
# A mentee is scanned for pairs down to this far below its current price, so that
# the next rounds (whose prices move a little) are served from the pool.
MARGIN = 0.02
EXACT_CHUNK = 1 << 18
# Threads for the exact checks of a scan's survivors: numpy releases the GIL in the array work,
# so two slices run at once on two cores (the compiled scan before them is parallel already).
EXACT_THREADS = 2
# Pairs a mentee's capped scans keep: the first (before any price is known) keeps 64, the
# second 256, the third 1024; later scans are uncapped, as are the exhaustive ones. The third
# cap matters at scale: at 50k with 30 % "either" the mentees rescanned in the second round held
# 8M pairs through the bound uncapped (2 s of exact checks, a pool twice the size); 3.4M with it.
SCAN_CAPS = (64, 256, 1024)


class Extra(Protocol):
    """Further dual prices (quota rows, cuts): ``adjust`` is their exact part of each pair's
    reduced cost, ``slack`` the most it can add to any pair (0 when it only subtracts)."""

    def slack(self) -> float: ...

    def adjust(self, m: Idx, e: Idx) -> F64: ...


_REGION_MODES = {"any": 0, "same_region": 1, "cross_region": 2}


@dataclass(frozen=True, slots=True)
class Priced:
    """Feasible pairs whose reduced cost is above the threshold, with their weights."""

    mentors: Idx
    mentees: Idx
    units: I64  # weights in solver units (score * SCORE_SCALE + 1)
    reduced: F64  # w - alpha[m] - beta[e], in score units
    # Per person: the most a pair *not* in ``mentors``/``mentees`` can price out at for this
    # mentee (0 when pricing saw all of the mentee's pairs above the threshold).
    unseen: F64

    @property
    def complete(self) -> bool:
        """Every pair above the threshold is listed."""
        return not bool(np.any(self.unseen > 0.0))


class Pricer:
    """Prices every feasible pair among allowed mentors and mentees; built once per run."""

    def __init__(
        self,
        index: PopulationIndex,
        mentor_ok: BoolA,
        mentee_ok: BoolA,
        *,
        requested: tuple[Idx, Idx] | None = None,
    ) -> None:
        self.index = index
        policy = index.policy
        self.n = index.n
        self.w = np.array(policy.weights.as_tuple(), dtype=np.float64)
        self.mentees: Idx = np.flatnonzero(mentee_ok)
        mentors = np.flatnonzero(mentor_ok)
        order = np.argsort(index.seniority[mentors], kind="stable")
        self.mentors_by_seniority = mentors[order].astype(np.int64)
        sorted_levels = index.seniority[self.mentors_by_seniority]
        # How many mentors are less senior than each person (strictly).
        self.upto: I64 = np.searchsorted(sorted_levels, index.seniority, side="left").astype(np.int64)
        # One week's availability bounds the minimum over the programme's weeks.
        self.avail_bits = np.ascontiguousarray(index.avail.week_bits(0))
        self.slot = float(index.avail.slot_minutes)
        self.region_mode = _REGION_MODES[policy.region_mode]
        # Per person: [w0 / |wants|, w1 / |wants|] (0 without wants): what one shared skill
        # is worth in each direction of the coverage score.
        wants = index.learn_count.astype(np.float64)
        per = np.divide(1.0, wants, out=np.zeros_like(wants), where=wants > 0)
        self.share_weight = np.ascontiguousarray(np.stack([self.w[0] * per, self.w[1] * per], axis=1))
        # Mentor-major copies (word, j-th mentor by seniority) for the vectorised phase.
        ordered = self.mentors_by_seniority
        self.share_cols = np.ascontiguousarray(index.share_bits[ordered].T)
        self.learn_cols = np.ascontiguousarray(index.learn_bits[ordered].T)
        self.back_weight = np.ascontiguousarray(self.share_weight[ordered, 1])
        self.lang_ord = np.ascontiguousarray(index.lang_bits[ordered])
        self.dept_ord = index.department[ordered].astype(np.int64)
        self.region_ord = index.region[ordered].astype(np.int64)
        self.meet_ord = index.meeting[ordered].astype(np.int64)
        self.avail_ord = np.ascontiguousarray(self.avail_bits[ordered])
        self.min_minutes = float(policy.min_overlap_hours * 60.0)
        self.target_minutes = float(policy.overlap_target_hours * 60.0)
        # The pool, grouped per mentee, and each mentee's floor (+inf: never scanned).
        self.floor: F64 = np.full(self.n, np.inf)
        self.pool_m: Idx = np.zeros(0, dtype=np.intp)
        self.pool_e: Idx = np.zeros(0, dtype=np.intp)
        self.pool_units: I64 = np.zeros(0, dtype=np.int64)
        self.capped_scans: I64 = np.zeros(self.n, dtype=np.int64)  # per mentee, see SCAN_CAPS
        self.scanned_pairs = 0  # pairs the compiled scan looked at, summed over scans
        self.scans = 0
        req_m = req_e = np.zeros(0, dtype=np.intp)
        if requested is not None and requested[0].size:
            rm, re = requested
            keep = mentor_ok[rm] & mentee_ok[re]
            req_m, req_e = self._unique(rm[keep], re[keep])
        self.req_m, self.req_e, self.req_units = self._exact(req_m, req_e)

    def _unique(self, m: Idx, e: Idx) -> tuple[Idx, Idx]:
        key = e.astype(np.int64) * self.n + m
        key.sort()
        key = key[np.r_[True, key[1:] != key[:-1]]] if key.size else key
        return (key % self.n).astype(np.intp), (key // self.n).astype(np.intp)

    def _exact(self, m: Idx, e: Idx) -> tuple[Idx, Idx, I64]:
        """The feasible pairs among (m, e), with their exact weights in units."""
        ok, minutes = feasible_with_overlap(self.index, m, e)
        m, e = m[ok], e[ok]
        return m, e, score(self.index, m, e, minutes).cost_units()

    def _exact_above(self, m: Idx, e: Idx, floor_of: F64) -> tuple[Idx, Idx, I64]:
        """The feasible pairs among (m, e) whose exact weight beats their mentee's floor."""
        pm, pe, pu = self._exact(m, e)
        above = pu / SCORE_SCALE > floor_of[pe]
        return pm[above], pe[above], pu[above]

    def scan(self, mentees: Idx, floors: F64, *, cap: int = 0) -> None:
        """Replace the pool of ``mentees`` by every feasible pair with weight > floor (with
        ``cap > 0``: at most the ``cap`` with the highest bounds per mentee, the floor rising to
        what the best pair left out can weigh)."""
        if mentees.size == 0:
            return
        kernel_floors = floors - UNIT - SAFETY  # bounds leave out the tie-break unit
        cand_m, cand_e, raised = self.bound_scan(mentees, kernel_floors, cap=cap)
        self.scans += 1
        self.scanned_pairs += int(self.upto[mentees].sum())
        floor_of = np.full(self.n, np.inf)
        # A pair the cap left out has a bound <= raised, so a weight <= raised + UNIT.
        floor_of[mentees] = np.where(raised > kernel_floors, raised + UNIT + SAFETY, floors)
        # Exact checks in slices, two at a time: scoring keeps five float columns per pair, and a
        # first scan can let tens of millions of pairs through its bounds.
        slices = [
            (
                cand_m[lo : lo + EXACT_CHUNK].astype(np.intp, copy=False),
                cand_e[lo : lo + EXACT_CHUNK].astype(np.intp, copy=False),
            )
            for lo in range(0, cand_m.size, EXACT_CHUNK)
        ]
        if len(slices) > 1:
            # ``map`` keeps the slices in order, so the pool is the same as a plain loop's.
            with ThreadPoolExecutor(EXACT_THREADS) as threads:
                parts = list(threads.map(lambda me: self._exact_above(me[0], me[1], floor_of), slices))
        else:
            parts = [self._exact_above(sm, se, floor_of) for sm, se in slices]
        del cand_m, cand_e, slices
        m = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.intp)
        e = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.intp)
        units = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
        stale = np.zeros(self.n, dtype=np.bool_)
        stale[mentees] = True
        old = ~stale[self.pool_e]
        self.pool_m = np.concatenate([self.pool_m[old], m])
        self.pool_e = np.concatenate([self.pool_e[old], e])
        self.pool_units = np.concatenate([self.pool_units[old], units])
        self.floor[mentees] = floor_of[mentees]

    def bound_scan(self, mentees: Idx, kernel_floors: F64, *, cap: int = 0) -> tuple[I64, I64, F64]:
        """The compiled scan (``kernels.scan``) over the whole cohort for ``mentees``: every
        (mentor, mentee) pair whose score *bound* (without the tie-break unit and the requested
        bonus) is above the mentee's floor, and per mentee the floor the pairs a cap left out are
        under. The bound is never below the exact score of a feasible pair without its requested
        bonus: what keeps the pricing exhaustive, hence the certificate."""
        index = self.index
        return kernels.scan(
            mentees.astype(np.int64),
            kernel_floors,
            self.upto[mentees],
            self.mentors_by_seniority,
            self.share_cols,
            self.learn_cols,
            self.back_weight,
            index.lang_bits,
            index.share_bits,
            index.learn_bits,
            self.share_weight,
            index.department.astype(np.int64),
            index.region.astype(np.int64),
            index.meeting,
            self.region_mode,
            self.avail_bits,
            self.slot,
            self.min_minutes - SAFETY,
            self.target_minutes,
            self.w,
            self.lang_ord,
            self.dept_ord,
            self.region_ord,
            self.meet_ord,
            self.avail_ord,
            cap,
        )

    def initial_columns(self, per_mentee: int, per_mentor: int) -> tuple[Idx, Idx, I64]:
        """A first set of columns before any price is known: a capped scan of every mentee (the
        pairs with the best bounds), then each mentee's ``per_mentee`` and each mentor's
        ``per_mentor`` heaviest pairs among them, and every feasible requested pair."""
        todo = self.mentees[self.capped_scans[self.mentees] == 0]
        if todo.size:
            self.scan(todo, np.zeros(todo.size), cap=SCAN_CAPS[0])
            self.capped_scans[todo] += 1
        m, e, units = self.pool_m, self.pool_e, self.pool_units
        keep = np.zeros(m.size, dtype=np.bool_)
        keep[top_k(e, units, per_mentee)] = True
        keep[top_k(m, units, per_mentor)] = True
        cols_m = np.concatenate([m[keep], self.req_m])
        cols_e = np.concatenate([e[keep], self.req_e])
        cols_u = np.concatenate([units[keep], self.req_units])
        key = cols_e.astype(np.int64) * self.n + cols_m
        _, first = np.unique(key, return_index=True)
        return cols_m[first], cols_e[first], cols_u[first]

    def known_at_least(self, alpha: F64, beta: F64, tau: float, extra: Extra | None = None) -> int:
        """How many pairs already in the pool have reduced cost > tau: a lower bound on
        what ``price`` would return, without scanning."""
        m, e = self.pool_m, self.pool_e
        reduced = self.pool_units / SCORE_SCALE - alpha[m] - beta[e]
        if extra is not None:
            reduced += extra.adjust(m, e)
        return int(np.count_nonzero(reduced > tau))

    def price(
        self, alpha: F64, beta: F64, tau: float = 0.0, extra: Extra | None = None, *, exhaustive: bool = False
    ) -> Priced:
        """Feasible pairs with ``w - alpha[m] - beta[e] + extra part > tau`` (alpha, beta >= 0;
        ``extra`` = the quota rows, the cuts and their duals): every one with ``exhaustive``,
        otherwise those in the (capped) pool, ``unseen`` bounding the rest."""
        slack = 0.0 if extra is None else extra.slack()
        need = beta[self.mentees] + tau - slack
        stale = need < self.floor[self.mentees]
        # A mentee's first scans are capped (SCAN_CAPS): early prices are far below the final ones.
        level = self.capped_scans[self.mentees]
        groups = [(stale & (level == at), cap) for at, cap in enumerate(SCAN_CAPS)]
        groups.append((stale & (level >= len(SCAN_CAPS)), 0))
        for part, cap in [(stale, 0)] if exhaustive else groups:
            if part.any():
                self.scan(self.mentees[part], need[part] - MARGIN, cap=cap)
                self.capped_scans[self.mentees[part]] += cap > 0
        pm, pe, pu, pr = self._above(self.pool_m, self.pool_e, self.pool_units, alpha, beta, tau, extra)
        rm, re, ru, rr = self._above(self.req_m, self.req_e, self.req_units, alpha, beta, tau, extra)
        m, e = np.concatenate([pm, rm]), np.concatenate([pe, re])
        units, reduced = np.concatenate([pu, ru]), np.concatenate([pr, rr])
        # A mentee whose floor stayed above its need (the cap) may have pairs out of the pool:
        # worth at most floor - beta + slack.
        unseen = np.zeros(self.n)
        hidden = self.floor[self.mentees] > need
        unseen[self.mentees[hidden]] = self.floor[self.mentees[hidden]] - beta[self.mentees[hidden]] + slack
        # A requested pair can be in the pool too: keep one of each.
        key = e.astype(np.int64) * self.n + m
        order = np.argsort(key, kind="stable")
        first = order[np.r_[True, key[order][1:] != key[order][:-1]]] if key.size else order
        return Priced(m[first], e[first], units[first], reduced[first], unseen)

    @staticmethod
    def _above(
        m: Idx, e: Idx, units: I64, alpha: F64, beta: F64, tau: float, extra: Extra | None
    ) -> tuple[Idx, Idx, I64, F64]:
        reduced = units / SCORE_SCALE - alpha[m] - beta[e]
        if extra is not None:
            reduced += extra.adjust(m, e)
        keep = np.flatnonzero(reduced > tau)
        return m[keep], e[keep], units[keep], reduced[keep]
