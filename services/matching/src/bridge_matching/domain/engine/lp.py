"""The pairing LP (restricted master of column generation), solved with HiGHS.

One row per person ``p`` with ``a`` = free mentor places and ``b`` = 1 if they may
still be mentored:

    sum(x over p's mentee edges) + c_p * sum(x over p's mentor edges) <= r_p

with ``c_p = max(a, 1)`` and ``r_p = a`` if ``a > 0`` else ``b``. For a pure mentor
this is "at most ``a`` mentees", for a pure mentee "at most one mentor", and for an
"either" person it is exact at integer points: one mentor uses the whole row, so
such a person is mentored *or* mentors up to ``a`` people, never both. Its LP
relaxation is the strongest one-row-per-person bound and the same for any number of
"either" people; without them the matrix is bipartite and the LP has integral optima.

Column ``(m, e)`` has a 1 in ``m``'s row and ``c_e`` in ``e``'s row, weight ``w`` in
score units. With row duals ``y >= 0`` its reduced cost is
``w - alpha[m] - beta[e]`` where ``alpha = y`` and ``beta = c * y`` (what pricing uses).
Columns are bounded by 1 (HiGHS's bounded simplex is many times faster that way, though every
row already implies ``x <= 1``). A column at its bound may keep a positive reduced cost, so
``sum(r * y)`` alone can fall below the LP value; the certificate (``solver.py``) therefore adds
every mentee's best positive reduced cost over *all* pairs, those columns included, which makes
the bound valid whatever the duals are.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from .quotas import Quotas

Idx = npt.NDArray[np.intp]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


class QuotaInfeasibleError(ValueError):
    """No pairing can meet the policy's quotas (with the pairs that must be kept)."""


@dataclass(frozen=True, slots=True)
class LpSolution:
    x: F64  # per column
    alpha: F64  # per person: the dual price of one mentee place
    beta: F64  # per person: the dual price of being mentored
    value: float  # primal objective (score units)
    dual_value: float  # sum(r * y) (+ quota and cut rows): equals ``value`` at an optimum
    mu: F64  # per quota row: its dual price (empty without quotas)
    pi: F64  # per "either" cut row: its dual price (see PairingLp.add_cuts)


class PairingLp:
    def __init__(
        self,
        mentor_cap: I64,
        mentee_cap: I64,
        mentors: Idx,
        mentees: Idx,
        weights: F64,
        *,
        quotas: Quotas | None = None,
        threads: int = 1,
    ) -> None:
        a = mentor_cap.astype(np.float64)
        b = mentee_cap.astype(np.float64)
        self.coef: F64 = np.maximum(a, 1.0)
        self.rhs: F64 = np.where(a > 0, a, b)
        self.n = int(a.size)
        self.quotas = quotas
        q = 0 if quotas is None else quotas.size
        self.row_rhs: F64 = self.rhs if quotas is None else np.concatenate([self.rhs, quotas.rhs])
        self.col_m: Idx = mentors.copy()
        self.col_e: Idx = mentees.copy()
        # "either" cuts: cut k is x[(cut_mentor[k], cut_mentee[k])] + sum(x over the mentor's own
        # mentor edges) <= 1; cuts_of[p] = the cut rows whose in-edges are p's.
        self.cut_mentor: list[int] = []
        self.cut_mentee: list[int] = []
        self.cuts_of: dict[int, list[int]] = {}
        h = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy's constructor is unannotated
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", threads)
        h.setOptionValue("random_seed", 0)
        inf = highspy.kHighsInf
        k = int(mentors.size)
        lp = highspy.HighsLp()
        lp.num_col_ = k
        lp.num_row_ = self.n + q
        lp.col_cost_ = -weights
        lp.col_lower_ = np.zeros(k)
        lp.col_upper_ = np.ones(k)
        lp.row_lower_ = np.full(self.n + q, -inf)
        lp.row_upper_ = self.row_rhs
        starts, index, values = self._entries(mentors, mentees)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.append(starts, index.size).astype(np.int32)
        lp.a_matrix_.index_ = index
        lp.a_matrix_.value_ = values
        h.passModel(lp)
        self.h = h
        self.columns = k

    def _entries(
        self, mentors: Idx, mentees: Idx
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], F64]:
        """Column-wise entries: the mentor's row, the mentee's row, then quota rows."""
        k = int(mentors.size)
        if self.quotas is None:
            starts = np.arange(0, 2 * k, 2, dtype=np.int32)
            index = np.empty(2 * k, dtype=np.int32)
            index[0::2] = mentors
            index[1::2] = mentees
            values = np.empty(2 * k, dtype=np.float64)
            values[0::2] = 1.0
            values[1::2] = self.coef[mentees]
            return starts, index, values
        q = self.quotas.size
        rows = np.empty((2 + q, k), dtype=np.int64)
        rows[0], rows[1] = mentors, mentees
        rows[2:] = (self.n + np.arange(q))[:, None]
        vals = np.empty((2 + q, k), dtype=np.float64)
        vals[0], vals[1] = 1.0, self.coef[mentees]
        vals[2:] = self.quotas.coefficients(mentors, mentees)
        keep = vals != 0.0
        keep[:2] = True
        per_column = keep.sum(axis=0)
        starts = (np.cumsum(per_column) - per_column).astype(np.int32)
        flat = keep.T.ravel()
        return starts, rows.T.ravel()[flat].astype(np.int32), vals.T.ravel()[flat]

    def add(self, mentors: Idx, mentees: Idx, weights: F64) -> None:
        k = int(mentors.size)
        if k == 0:
            return
        starts, index, values = self._entries(mentors, mentees)
        if self.cuts_of:  # new mentor edges of a person with cuts join every cut of that person
            starts, index, values = self._with_cut_entries(mentees, starts, index, values)
        self.h.addCols(k, -weights, np.zeros(k), np.ones(k), index.size, starts, index, values)
        self.columns += k
        self.col_m = np.concatenate([self.col_m, mentors])
        self.col_e = np.concatenate([self.col_e, mentees])

    def _with_cut_entries(
        self, mentees: Idx, starts: npt.NDArray[np.int32], index: npt.NDArray[np.int32], values: F64
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], F64]:
        """The columns' entries with each column's cut rows appended (``cuts_of`` of its mentee,
        in the order the cuts were added)."""
        first_cut_row = self.n + (0 if self.quotas is None else self.quotas.size)
        owner = np.array(self.cut_mentor, dtype=np.int64)
        by_owner = np.argsort(owner, kind="stable")
        sorted_owner = owner[by_owner]
        lo = np.searchsorted(sorted_owner, mentees, side="left")
        count = np.searchsorted(sorted_owner, mentees, side="right") - lo
        base = np.diff(np.append(starts, index.size))
        length = base + count
        new_starts = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int32)
        out_i = np.empty(int(length.sum()), dtype=np.int32)
        out_v = np.ones(out_i.size, dtype=np.float64)
        col = np.repeat(np.arange(mentees.size), base)
        at = new_starts[col] + (np.arange(index.size) - starts[col])
        out_i[at], out_v[at] = index, values
        col = np.repeat(np.arange(mentees.size), count)
        j = np.arange(col.size) - np.repeat(np.cumsum(count) - count, count)
        out_i[new_starts[col] + base[col] + j] = by_owner[lo[col] + j] + first_cut_row
        return new_starts, out_i, out_v

    def add_cuts(self, x: F64, either: npt.NDArray[np.bool_]) -> int:
        """Adds the violated "either" cuts: for a person p who may mentor or be mentored, every
        mentor edge (p, m) satisfies x[p, m] + sum(x over p's own mentors) <= 1 at integer points
        (p cannot mentor m and have a mentor). The one-row-per-person LP allows fractional mixes
        that break it when p has more than one place; these rows remove them and tighten the
        bound. Returns how many were added."""
        m, e = self.col_m, self.col_e
        mentored = np.bincount(e, weights=x, minlength=self.n)
        have = set(zip(self.cut_mentor, self.cut_mentee, strict=True))
        violated = [
            j
            for j in np.flatnonzero(either[m] & (x + mentored[m] > 1 + 1e-6)).tolist()
            if (int(m[j]), int(e[j])) not in have
        ]
        if not violated:
            return 0
        order = np.argsort(e, kind="stable")
        e_sorted = e[order]
        starts: list[int] = []
        index: list[npt.NDArray[np.int32]] = []
        at = 0
        for j in violated:
            p = int(m[j])
            lo, hi = np.searchsorted(e_sorted, [p, p + 1])
            cols = np.concatenate([[j], order[lo:hi]]).astype(np.int32)
            starts.append(at)
            index.append(cols)
            at += cols.size
            self.cuts_of.setdefault(p, []).append(len(self.cut_mentor))
            self.cut_mentor.append(p)
            self.cut_mentee.append(int(e[j]))
        flat = np.concatenate(index)
        count = len(violated)
        inf = highspy.kHighsInf
        self.h.addRows(
            count,
            np.full(count, -inf),
            np.ones(count),
            flat.size,
            np.array(starts, dtype=np.int32),
            flat,
            np.ones(flat.size),
        )
        self.row_rhs = np.concatenate([self.row_rhs, np.ones(count)])
        return count

    def cut_prices_per_person(self, pi: F64) -> F64:
        """Per person p: the summed prices ``pi`` (of the first ``pi.size`` cuts) of the cuts on
        p's mentor edges. Every mentor edge of p, new ones too, is in all of them, so this is
        added to p's price as a mentee."""
        out = np.zeros(self.n)
        if pi.size:
            np.add.at(out, np.array(self.cut_mentor[: pi.size], dtype=np.int64), pi)
        return out

    def cut_edge_adjust(self, pi: F64, m: Idx, e: Idx) -> F64:
        """Minus the price of the cut on the edge (m[k], e[k]) itself, where there is one."""
        out = np.zeros(m.size)
        if pi.size == 0:
            return out
        cut_m = np.array(self.cut_mentor[: pi.size], dtype=np.int64)
        key = cut_m * self.n + np.array(self.cut_mentee[: pi.size], dtype=np.int64)
        order = np.argsort(key)
        sorted_keys = key[order]
        # Only pairs whose mentor has a cut can hit one: look those up (a few % of a pool).
        has_cut = np.zeros(self.n, dtype=np.bool_)
        has_cut[cut_m] = True
        near = np.flatnonzero(has_cut[m])
        pk = m[near].astype(np.int64) * self.n + e[near]
        at = np.minimum(np.searchsorted(sorted_keys, pk), key.size - 1)
        hit = sorted_keys[at] == pk
        out[near[hit]] -= pi[order[at[hit]]]
        return out

    def solve(self) -> LpSolution:
        q = 0 if self.quotas is None else self.quotas.size
        if self.columns == 0:  # nothing to pair (yet): every price is zero
            zero = np.zeros(self.n)
            return LpSolution(np.zeros(0), zero, zero.copy(), 0.0, 0.0, np.zeros(q), np.zeros(0))
        status = self.h.run()
        model_status = self.h.getModelStatus()
        if model_status == highspy.HighsModelStatus.kInfeasible:
            raise QuotaInfeasibleError("the quotas cannot be met together with the pinned and fixed pairs")
        if status == highspy.HighsStatus.kError or model_status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"pairing LP not solved: {self.h.modelStatusToString(model_status)}")
        sol = self.h.getSolution()
        x = np.asarray(sol.col_value, dtype=np.float64)
        # HiGHS minimises -w: a <= row's dual is <= 0; the textbook price is its negative.
        duals = np.maximum(-np.asarray(sol.row_dual, dtype=np.float64), 0.0)
        y, mu, pi = duals[: self.n], duals[self.n : self.n + q], duals[self.n + q :]
        value = -float(self.h.getInfo().objective_function_value)
        return LpSolution(x, y, self.coef * y, value, float(self.row_rhs @ duals), mu, pi)

    def relaxed_value(self, row: int) -> float:
        """LP value with quota ``row`` lifted (a warm re-solve), then restored."""
        at = self.n + row
        upper = float(self.row_rhs[at])
        self.h.changeRowBounds(at, -highspy.kHighsInf, highspy.kHighsInf)
        self.h.run()
        value = -float(self.h.getInfo().objective_function_value)
        self.h.changeRowBounds(at, -highspy.kHighsInf, upper)
        self.h.run()
        return value


@dataclass(frozen=True, slots=True)
class MipSolution:
    selected: npt.NDArray[np.bool_]  # per column
    value: float  # units (score * 1e6 + 1 per pair)
    bound: float  # units: no pairing of these columns scores more
    optimal: bool


def solve_pairing_mip(
    mentor_cap: I64,
    mentee_cap: I64,
    mentors: Idx,
    mentees: Idx,
    units: I64,
    *,
    max_nodes: int,
    quotas: Quotas | None = None,
    rel_gap: float = 0.0,
) -> MipSolution:
    """The integer pairing over the given columns (same rows as the LP, x binary).

    Weights are the solver's integer units (score * 1e6 + 1), so the objective is integral
    and a gap under one unit is none (in score units the tie-break unit would sit below
    HiGHS's tolerances). HiGHS branch-and-cut, single-threaded and limited by a node count
    (not by time), so the same input always gives the same answer. It stops once its
    incumbent is within ``rel_gap`` of its own bound (0: proven optimal). No start is
    passed: callers compare the answer with what they already have.
    """
    k = int(mentors.size)
    if k == 0:  # nothing to choose: pairing nobody is the answer if the quotas allow it
        if quotas is not None and bool(np.any(quotas.rhs < -1e-9)):
            raise QuotaInfeasibleError("the quotas cannot be met together with the pinned and fixed pairs")
        return MipSolution(np.zeros(0, dtype=np.bool_), 0.0, 0.0, True)
    lp = PairingLp(mentor_cap, mentee_cap, mentors, mentees, units.astype(np.float64), quotas=quotas)
    h = lp.h
    h.setOptionValue("mip_max_nodes", max_nodes)
    h.setOptionValue("mip_rel_gap", rel_gap)
    h.setOptionValue("mip_abs_gap", 0.5)  # under one unit
    h.changeColsIntegrality(k, np.arange(k, dtype=np.int32), np.full(k, highspy.HighsVarType.kInteger))
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    if status == highspy.HighsModelStatus.kInfeasible:
        raise QuotaInfeasibleError("the quotas cannot be met together with the pinned and fixed pairs")
    if x.size != k or info.primal_solution_status != 2:  # 2: a feasible solution is known
        raise RuntimeError("the pairing MIP found no feasible pairing within its node limit")
    selected = x > 0.5
    # The bound HiGHS reports is within its tolerances: round it up to the next whole unit.
    bound = float(np.ceil(-float(info.mip_dual_bound) - 1e-9)) if np.isfinite(info.mip_dual_bound) else np.inf
    value = float(units[selected].sum())
    return MipSolution(selected, value, max(bound, value), status == highspy.HighsModelStatus.kOptimal)
