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
Columns have no upper bound: every row already implies ``x <= 1``, so the duals
stay clean (no bound duals) and the dual objective ``sum(r * y)`` is the LP value.
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
    dual_value: float  # sum(r * y) (+ quota rows): equals ``value`` at an optimum
    mu: F64  # per quota row: its dual price (empty without quotas)


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
        self.h.addCols(k, -weights, np.zeros(k), np.ones(k), index.size, starts, index, values)
        self.columns += k

    def solve(self) -> LpSolution:
        q = 0 if self.quotas is None else self.quotas.size
        if self.columns == 0:  # nothing to pair (yet): every price is zero
            zero = np.zeros(self.n)
            return LpSolution(np.zeros(0), zero, zero.copy(), 0.0, 0.0, np.zeros(q))
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
        y, mu = duals[: self.n], duals[self.n :]
        value = -float(self.h.getInfo().objective_function_value)
        return LpSolution(x, y, self.coef * y, value, float(self.row_rhs @ duals), mu)

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
    value: float  # score units
    bound: float  # no pairing of these columns scores more
    optimal: bool


def solve_pairing_mip(
    mentor_cap: I64,
    mentee_cap: I64,
    mentors: Idx,
    mentees: Idx,
    weights: F64,
    *,
    start: npt.NDArray[np.bool_] | None,
    max_nodes: int,
    quotas: Quotas | None = None,
    rel_gap: float = 0.0,
) -> MipSolution:
    """The integer pairing over the given columns (same rows as the LP, x binary).

    HiGHS branch-and-cut from the ``start`` pairing, single-threaded and limited by a
    node count (not by time), so the same input always gives the same answer. It stops
    once its incumbent is within ``rel_gap`` of its own bound (0: proven optimal).
    """
    k = int(mentors.size)
    if k == 0:  # nothing to choose: pairing nobody is the answer if the quotas allow it
        if quotas is not None and bool(np.any(quotas.rhs < -1e-9)):
            raise QuotaInfeasibleError("the quotas cannot be met together with the pinned and fixed pairs")
        return MipSolution(np.zeros(0, dtype=np.bool_), 0.0, 0.0, True)
    lp = PairingLp(mentor_cap, mentee_cap, mentors, mentees, weights, quotas=quotas)
    h = lp.h
    h.setOptionValue("mip_max_nodes", max_nodes)
    h.setOptionValue("mip_rel_gap", rel_gap)
    h.setOptionValue("mip_abs_gap", 0.5 / 1_000_000)  # under one solver unit
    h.changeColsIntegrality(k, np.arange(k, dtype=np.int32), np.full(k, highspy.HighsVarType.kInteger))
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = start.astype(np.float64)
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    if status == highspy.HighsModelStatus.kInfeasible:
        raise QuotaInfeasibleError("the quotas cannot be met together with the pinned and fixed pairs")
    if x.size != k or info.primal_solution_status != 2:  # 2: a feasible solution is known
        if start is None:
            raise RuntimeError("the pairing MIP found no feasible pairing within its node limit")
        return MipSolution(start.copy(), float(weights[start].sum()), np.inf, False)
    selected = x > 0.5
    return MipSolution(
        selected,
        float(weights[selected].sum()),
        -float(info.mip_dual_bound),
        status == highspy.HighsModelStatus.kOptimal,
    )
