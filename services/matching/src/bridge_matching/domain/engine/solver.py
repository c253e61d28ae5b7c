"""Pairing solvers: an exact bipartite b-matching (min-cost flow) and the certified
solve of the whole problem (column generation on the pairing LP, see ``lp.py`` and
``pricing.py``).

Min-cost flow network: source -> mentor (capacity = remaining mentor places) ->
mentee (capacity 1, cost = -weight) -> sink (capacity 1), plus a zero-cost
source -> sink bypass so that leaving people unmatched is allowed when it scores
higher (max *weight*, not max cardinality). Costs are integers and arcs are added in
a canonical order, so results are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

from .lp import LpSolution, PairingLp, QuotaInfeasibleError, solve_pairing_mip
from .pricing import Priced, Pricer
from .quotas import Quotas
from .scoring import SCORE_SCALE

Idx = npt.NDArray[np.intp]
I64 = npt.NDArray[np.int64]
BoolA = npt.NDArray[np.bool_]
F64 = npt.NDArray[np.float64]


def max_weight_bmatching(mentors: Idx, mentees: Idx, weights: I64, mentor_cap: I64, mentee_cap: I64) -> BoolA:
    """Selected-edge mask of a max-weight b-matching (weights > 0; caps by position)."""
    selected = np.zeros(mentors.size, dtype=np.bool_)
    if mentors.size == 0:
        return selected
    left, left_inv = np.unique(mentors, return_inverse=True)
    right, right_inv = np.unique(mentees, return_inverse=True)
    lcap = mentor_cap[left]
    rcap = mentee_cap[right]
    source, sink = 0, 1
    left_nodes = np.arange(left.size, dtype=np.int64) + 2
    right_nodes = np.arange(right.size, dtype=np.int64) + 2 + left.size
    flow_units = int(min(lcap.sum(), rcap.sum()))
    if flow_units == 0:
        return selected
    tails = np.concatenate([left_nodes[left_inv], np.full(left.size, source), right_nodes, [source]])
    heads = np.concatenate([right_nodes[right_inv], left_nodes, np.full(right.size, sink), [sink]])
    caps = np.concatenate([np.ones(mentors.size, dtype=np.int64), lcap, rcap, [flow_units]])
    costs = np.concatenate([-weights, np.zeros(left.size + right.size + 1, dtype=np.int64)])
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32),
        heads.astype(np.int32),
        caps.astype(np.int64),
        costs.astype(np.int64),
    )
    supplies = np.zeros(2 + left.size + right.size, dtype=np.int64)
    supplies[source], supplies[sink] = flow_units, -flow_units
    solver.set_nodes_supplies(np.arange(supplies.size, dtype=np.int32), supplies)
    status = solver.solve()
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    flows = solver.flows(np.arange(mentors.size, dtype=np.int32))
    selected[:] = np.asarray(flows) > 0
    return selected


class _Problem:
    def __init__(self, mentors: Idx, mentees: Idx, weights: I64, mentor_cap: I64, mentee_cap: I64) -> None:
        self.m, self.e, self.w = mentors, mentees, weights
        self.mentor_cap, self.mentee_cap = mentor_cap, mentee_cap
        self.calls = 0

    def solve(self, allowed: BoolA) -> BoolA:
        self.calls += 1
        idx = np.flatnonzero(allowed)
        sel = np.zeros(self.m.size, dtype=np.bool_)
        sub = max_weight_bmatching(self.m[idx], self.e[idx], self.w[idx], self.mentor_cap, self.mentee_cap)
        sel[idx[sub]] = True
        return sel

    def value(self, sel: BoolA) -> int:
        return int(self.w[sel].sum())

    def conflicts(self, sel: BoolA) -> Idx:
        return np.intersect1d(self.m[sel], self.e[sel])

    def repair(self, sel: BoolA, allowed: BoolA) -> BoolA:
        """Greedy side-locking + residual re-solve until nobody has two roles."""
        sel, allowed = sel.copy(), allowed.copy()
        while True:
            conflicted = self.conflicts(sel)
            if conflicted.size == 0:
                return sel
            n = self.mentor_cap.size
            as_mentor = np.bincount(self.m[sel], weights=self.w[sel], minlength=n)
            as_mentee = np.bincount(self.e[sel], weights=self.w[sel], minlength=n)
            keep_mentor = as_mentor[conflicted] >= as_mentee[conflicted]
            drop_as_mentee = conflicted[keep_mentor]
            drop_as_mentor = conflicted[~keep_mentor]
            bad = np.isin(self.e, drop_as_mentee) | np.isin(self.m, drop_as_mentor)
            # Lock everyone already matched to their current role.
            mentor_locked = np.unique(self.m[sel & ~bad])
            mentee_locked = np.unique(self.e[sel & ~bad])
            bad |= np.isin(self.e, mentor_locked) | np.isin(self.m, mentee_locked)
            sel &= ~bad
            allowed &= ~bad
            used_m = np.bincount(self.m[sel], minlength=n)
            used_e = np.bincount(self.e[sel], minlength=n)
            res_m = self.mentor_cap - used_m
            res_e = self.mentee_cap - used_e
            residual = allowed & ~sel & (res_m[self.m] > 0) & (res_e[self.e] > 0)
            idx = np.flatnonzero(residual)
            if idx.size == 0:
                continue
            self.calls += 1
            sub = max_weight_bmatching(self.m[idx], self.e[idx], self.w[idx], res_m, res_e)
            sel[idx[sub]] = True


# --- certified solve: column generation on the pairing LP, then an integer solution ---

PRICE_EPS = 1e-9  # reduced costs above this are added as columns
COLUMNS_PER_MENTEE = 4  # priced columns added per mentee per round (best first)
MAX_ROUNDS = 60
MAX_CUT_ROUNDS = 30
STALL = 1e-9  # relative: an LP value that moved less than this between rounds has stalled
# With "either" people the LP is fractional and the last rounds only shave the bound: column
# generation stops once a round's certified bound is within this (relative) of the LP value.
# The reported gap stays certified (it compares the pairing with that bound). 0.03 % leaves
# more than two thirds of the 0.1 % a run may leave for the integer rounding, which costs
# about 0.005 % on the benchmark cohorts. At 50k with 30 % "either" the rounds that would take
# the bound from 0.03 % to 0.001 % cost about 10 s (two LP solves and two pricing passes).
GAP_TOLERANCE = 3e-4


class _Prices:
    """What pricing adds to ``w - alpha[m] - beta[e]``: the quota rows' and the cuts' duals.

    The cuts on a person's mentor edges raise their price as a mentee (``mentee_shift``, passed
    to pricing inside ``beta``); ``adjust`` is the rest: the cut on the priced edge itself and
    the quota rows."""

    def __init__(self, lp: PairingLp, sol: LpSolution, quotas: Quotas | None) -> None:
        self.lp, self.sol, self.quotas = lp, sol, quotas
        self.mentee_shift: F64 = lp.cut_prices_per_person(sol.pi)

    def slack(self) -> float:
        return 0.0 if self.quotas is None else self.quotas.slack(self.sol.mu)

    def adjust(self, m: Idx, e: Idx) -> F64:
        out = self.lp.cut_edge_adjust(self.sol.pi, m, e)
        if self.quotas is not None:
            out += self.quotas.adjust(self.sol.mu, m, e)
        return out


@dataclass(frozen=True, slots=True)
class CertifiedOutcome:
    mentors: Idx  # the chosen pairs
    mentees: Idx
    units: I64
    value: int  # sum of units
    upper_bound: float  # in units: no feasible pairing of the whole cohort scores more
    proven_optimal: bool
    rounds: int
    columns: int
    priced_pairs: int  # pairs the pricing looked at, summed over rounds
    solver_calls: int
    lp_value: float
    column_mentors: Idx  # every pair the LP saw (all feasible)
    column_mentees: Idx
    quota_costs: dict[str, float]  # per quota: score it costs (LP estimate)

    @property
    def gap(self) -> float:
        """Certified relative gap: (bound - value) / bound, 0 when proven optimal."""
        if self.proven_optimal or self.upper_bound <= 0:
            return 0.0
        return max(0.0, (self.upper_bound - self.value) / self.upper_bound)


def _fresh(priced: Priced, keys: I64, n: int) -> Idx:
    """Priced pairs that price out and are not columns yet (``keys``: the columns' sorted keys)."""
    pk = priced.mentees.astype(np.int64) * n + priced.mentors
    at = np.minimum(np.searchsorted(keys, pk), max(keys.size - 1, 0))
    new = (keys[at] != pk) if keys.size else np.ones(pk.size, dtype=np.bool_)
    new &= priced.reduced > PRICE_EPS
    out: Idx = np.flatnonzero(new)
    return out


def _bound(sol: LpSolution, priced: Priced) -> float:
    """Dual bound for the whole feasible graph (score units): raise each mentee's price by its
    best positive reduced cost (zero once pricing finds nothing) and by what the pool left
    unseen, which makes every pair's reduced cost <= 0; the dual objective then bounds every
    integer pairing, whichever round's duals it is given."""
    rho = np.maximum(priced.unseen, 0.0)
    if priced.mentees.size:
        np.maximum.at(rho, priced.mentees, np.maximum(priced.reduced, 0.0))
    return sol.dual_value + float(rho.sum())


def _best_per_mentee(mentees: Idx, reduced: F64, k: int) -> Idx:
    order = np.lexsort((-reduced, mentees))
    e_sorted = mentees[order]
    first = np.r_[True, e_sorted[1:] != e_sorted[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(e_sorted.size), 0))
    rank = np.arange(e_sorted.size) - start
    picked: Idx = order[rank < k]
    return picked


def solve_certified(
    pricer: Pricer,
    mentors: Idx,
    mentees: Idx,
    units: I64,
    mentor_cap: I64,
    mentee_cap: I64,
    *,
    quotas: Quotas | None = None,
    max_rounds: int = MAX_ROUNDS,
) -> CertifiedOutcome:
    """Best pairing of the whole feasible graph with a certificate.

    1. Column generation: solve the pairing LP (see ``lp.py``) on the columns so far,
       price every feasible pair of the cohort against its duals (``pricing.py``),
       add the pairs that price out, repeat until none does (with "either" people: or until
       the round's bound is within GAP_TOLERANCE of the LP value). The LP value is then an
       upper bound for the *whole* feasible graph, not only those columns; if the
       round limit stops it early, the bound is the dual value plus every mentee's
       best positive reduced cost and what the capped pool left unseen (still valid,
       only looser).
    2. An integer pairing from the LP: without "either" conflicts the LP optimum is
       integral and used as is; otherwise every "either" person takes the role the LP
       gave most of their weight to and an exact min-cost flow on all generated
       columns completes the pairing (remaining conflicts are repaired greedily).
    ``proven_optimal`` holds when the integer value reaches the bound.
    """
    n = int(mentor_cap.size)
    col_m, col_e, col_u = mentors.copy(), mentees.copy(), units.copy()
    lp = PairingLp(mentor_cap, mentee_cap, col_m, col_e, col_u / SCORE_SCALE, quotas=quotas)
    keys = np.sort(col_e.astype(np.int64) * n + col_m)
    rounds = 0
    either = (mentor_cap > 0) & (mentee_cap > 0)
    cut_rounds = 0
    either_present = cutting = bool(either.any())
    last_value = -np.inf
    while True:
        sol = lp.solve()
        rounds += 1
        extra = _Prices(lp, sol, quotas)
        beta = sol.beta + extra.mentee_shift
        priced = pricer.price(sol.alpha, beta, 0.0, extra)
        if either_present and _bound(sol, priced) - sol.value <= GAP_TOLERANCE * abs(sol.value):
            break
        # Cuts and columns are added in the same round (one LP solve for both); the round's
        # duals price the columns, and the cut rows only join from the next solve on.
        cuts = 0
        # Cuts stop once a round's cuts and columns left the LP value where it was: such cuts
        # cut nothing off that matters, and on a large LP each costs thousands of degenerate pivots.
        if cutting and cut_rounds > 0 and abs(sol.value - last_value) <= STALL * abs(sol.value):
            cutting = False
        last_value = sol.value
        if cutting and cut_rounds < MAX_CUT_ROUNDS:
            cuts = lp.add_cuts(sol.x, either)
            cut_rounds += cuts > 0
        fresh = _fresh(priced, keys, n)
        if fresh.size == 0 and cuts == 0 and not priced.complete:
            # Nothing new in the pool: look at the pairs the pool's cap hid before stopping.
            priced = pricer.price(sol.alpha, beta, 0.0, extra, exhaustive=True)
            fresh = _fresh(priced, keys, n)
        if (fresh.size == 0 and cuts == 0) or rounds >= max_rounds:
            break
        pick = fresh[_best_per_mentee(priced.mentees[fresh], priced.reduced[fresh], COLUMNS_PER_MENTEE)]
        lp.add(priced.mentors[pick], priced.mentees[pick], priced.units[pick] / SCORE_SCALE)
        col_m = np.concatenate([col_m, priced.mentors[pick]])
        col_e = np.concatenate([col_e, priced.mentees[pick]])
        col_u = np.concatenate([col_u, priced.units[pick]])
        keys = np.sort(col_e.astype(np.int64) * n + col_m)
    bound_units = _bound(sol, priced) * SCORE_SCALE

    quota_costs: dict[str, float] = {}
    if quotas is not None:
        # What each quota costs: the LP's value with that row lifted, minus its value now
        # (on the pairs generated so far: an estimate from below).
        for row, name in enumerate(quotas.names):
            quota_costs[name] = round(max(lp.relaxed_value(row) - sol.value, 0.0), 6)
        selected, calls = _quota_pairing(sol.x, col_m, col_e, col_u, mentor_cap, mentee_cap, quotas)
    else:
        selected, calls = _integer_pairing(sol.x, col_m, col_e, col_u, mentor_cap, mentee_cap)
        if col_u[selected].sum() < bound_units - 1.0:
            better = _residual_pairing(sol, col_m, col_e, col_u, mentor_cap, mentee_cap)
            calls += 1
            if better is not None and col_u[better].sum() > col_u[selected].sum():
                selected = better
    value = int(col_u[selected].sum())
    # Every pair's weight is an integer number of units, so a gap under 1 unit is none.
    proven = value > bound_units - 1.0
    if not proven:
        closed = _close_gap(
            pricer, lp, sol, col_m, col_e, col_u, selected, value, bound_units, mentor_cap, mentee_cap, quotas
        )
        if closed is not None:
            col_m, col_e, col_u, selected, value, bound_units, proven = closed
    return CertifiedOutcome(
        col_m[selected],
        col_e[selected],
        col_u[selected],
        value,
        max(bound_units, float(value)),
        proven,
        rounds,
        int(col_m.size),
        pricer.scanned_pairs,
        calls,
        sol.value,
        col_m,
        col_e,
        quota_costs,
    )


MIP_MAX_COLUMNS = 20_000  # beyond this the exact search is not tried (the LP certificate stands)
MIP_MAX_NODES = 1_000
# With quotas the integer pairing stops within this of the MIP's own bound (the reported
# certified gap still compares with the LP bound of the whole cohort).
QUOTA_REL_GAP = 2e-4


def _close_gap(
    pricer: Pricer,
    lp: PairingLp,
    sol: LpSolution,
    col_m: Idx,
    col_e: Idx,
    col_u: I64,
    selected: BoolA,
    value: int,
    bound_units: float,
    mentor_cap: I64,
    mentee_cap: I64,
    quotas: Quotas | None,
) -> tuple[Idx, Idx, I64, BoolA, int, float, bool] | None:
    """Exact search when the LP leaves a gap (fractional "either" roles).

    Reduced-cost argument: with duals ``y >= 0`` and bound ``B``, any pairing that uses
    a pair whose reduced cost is <= -(B - value) scores at most ``value``. So the best
    pairing of the whole cohort uses only pairs with reduced cost > -(B - value) (or is
    the current one). Those pairs are collected from the whole feasible graph; when
    they are few enough, an integer program over them (HiGHS, node-limited) either
    proves its answer optimal for the whole cohort or tightens the bound.
    """
    gap = (bound_units - value) / SCORE_SCALE
    extra = _Prices(lp, sol, quotas)
    beta = sol.beta + extra.mentee_shift
    if pricer.known_at_least(sol.alpha, beta, -gap, extra) > MIP_MAX_COLUMNS:
        return None  # already too many without scanning further
    near = pricer.price(sol.alpha, beta, -gap, extra, exhaustive=True)
    n = int(mentor_cap.size)
    keys = np.concatenate([near.mentees.astype(np.int64) * n + near.mentors])
    chosen_keys = col_e[selected].astype(np.int64) * n + col_m[selected]
    all_keys = np.union1d(keys, chosen_keys)
    if all_keys.size > MIP_MAX_COLUMNS:
        return None
    # Weights of every column (the near pairs carry theirs; the chosen ones come from the columns).
    weight_of = dict(zip(keys.tolist(), near.units.tolist(), strict=True))
    weight_of.update(zip(chosen_keys.tolist(), col_u[selected].tolist(), strict=True))
    m = (all_keys % n).astype(np.intp)
    e = (all_keys // n).astype(np.intp)
    u = np.array([weight_of[k] for k in all_keys.tolist()], dtype=np.int64)
    start = np.isin(all_keys, chosen_keys)
    try:
        mip = solve_pairing_mip(mentor_cap, mentee_cap, m, e, u, max_nodes=MIP_MAX_NODES, quotas=quotas)
    except RuntimeError:  # no pairing found within the node limit: keep what we have
        return None
    best = mip.selected if mip.value > value + 0.5 else start
    best_value = int(u[best].sum())
    # Pairings outside these columns score at most ``value`` <= best_value.
    bound = min(bound_units, max(float(best_value), mip.bound))
    proven = (mip.optimal and best_value >= mip.value) or best_value > bound - 1.0
    return m, e, u, best, best_value, max(bound, float(best_value)), proven


def _quota_pairing(
    x: F64, m: Idx, e: Idx, u: I64, mentor_cap: I64, mentee_cap: I64, quotas: Quotas
) -> tuple[BoolA, int]:
    """With quotas a flow cannot keep the pairing inside them; an integer program does.

    The LP's integral part is kept and only the rest is searched: a small integer
    program (HiGHS, node-limited, deterministic) over the pairs between people with
    places left, within what the quotas leave. If that is infeasible, the whole set of
    generated pairs is searched instead."""
    n = int(mentor_cap.size)
    fixed = x > 1 - 1e-6
    used_m = np.bincount(m[fixed], minlength=n)
    used_e = np.bincount(e[fixed], minlength=n)
    left_m = np.where(used_e > 0, 0, mentor_cap - used_m)
    left_e = np.where(used_m > 0, 0, mentee_cap - used_e)
    open_ = ~fixed & (left_m[m] > 0) & (left_e[e] > 0)
    rest = np.flatnonzero(open_)
    residual = Quotas(
        quotas.index,
        quotas.names,
        quotas.rhs - quotas.coefficients(m[fixed], e[fixed]).sum(axis=1),
        quotas.cross_share,
        quotas.department_share,
        quotas.region_caps,
    )
    calls = 1
    try:
        part = solve_pairing_mip(
            left_m,
            left_e,
            m[rest],
            e[rest],
            u[rest],
            max_nodes=MIP_MAX_NODES,
            quotas=residual,
        )
        selected = fixed.copy()
        selected[rest[part.selected]] = True
        return selected, calls
    except (QuotaInfeasibleError, RuntimeError):
        calls += 1
    mip = solve_pairing_mip(
        mentor_cap, mentee_cap, m, e, u, max_nodes=MIP_MAX_NODES, quotas=quotas, rel_gap=QUOTA_REL_GAP
    )
    return mip.selected, calls


RESIDUAL_REDUCED_COST = 1.0  # score units: pairs this far below their LP price join the residual search
RESIDUAL_MAX_COLUMNS = 200_000
RESIDUAL_MAX_NODES = 300


def _residual_pairing(
    sol: LpSolution, m: Idx, e: Idx, u: I64, mentor_cap: I64, mentee_cap: I64
) -> BoolA | None:
    """Keeps the LP's integral pairs and searches the rest exactly-ish: a node-limited
    integer program over the pairs between people with places left whose reduced cost is
    within RESIDUAL_REDUCED_COST of zero (the LP's fractional part and its neighbours)."""
    n = int(mentor_cap.size)
    x = sol.x
    fixed = x > 1 - 1e-6
    used_m = np.bincount(m[fixed], minlength=n)
    used_e = np.bincount(e[fixed], minlength=n)
    left_m = np.where(used_e > 0, 0, mentor_cap - used_m)
    left_e = np.where(used_m > 0, 0, mentee_cap - used_e)
    reduced = u / SCORE_SCALE - sol.alpha[m] - sol.beta[e]
    rest = np.flatnonzero(~fixed & (left_m[m] > 0) & (left_e[e] > 0) & (reduced > -RESIDUAL_REDUCED_COST))
    if rest.size == 0 or rest.size > RESIDUAL_MAX_COLUMNS:
        return None
    try:
        part = solve_pairing_mip(left_m, left_e, m[rest], e[rest], u[rest], max_nodes=RESIDUAL_MAX_NODES)
    except RuntimeError:
        return None
    selected = fixed.copy()
    selected[rest[part.selected]] = True
    return selected


def _integer_pairing(x: F64, m: Idx, e: Idx, u: I64, mentor_cap: I64, mentee_cap: I64) -> tuple[BoolA, int]:
    n = int(mentor_cap.size)
    support = x > 1e-9
    integral = bool(np.all(np.abs(x[support] - 1.0) < 1e-6))
    if integral:
        sel = support.copy()
        if np.intersect1d(m[sel], e[sel]).size == 0:
            return sel, 0
    # Role of each "either" person: the side the LP gave more of their row to.
    cap = np.maximum(mentor_cap, 1).astype(np.float64)
    as_mentor = np.bincount(m, weights=x, minlength=n) / cap
    as_mentee = np.bincount(e, weights=x, minlength=n)
    either = (mentor_cap > 0) & (mentee_cap > 0)
    mentor_role = either & (as_mentor > as_mentee)
    mentee_role = either & (as_mentee > as_mentor)
    allowed = ~(mentee_role[m] | mentor_role[e])
    problem = _Problem(m, e, u, mentor_cap, mentee_cap)
    sel = problem.solve(allowed)
    if problem.conflicts(sel).size:
        sel = problem.repair(sel, allowed)
    return sel, problem.calls
