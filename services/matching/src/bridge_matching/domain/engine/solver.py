"""Exact max-weight b-matching on the candidate graph via min-cost flow.

Network: source -> mentor (capacity = remaining mentor capacity) -> mentee
(capacity 1, cost = -score) -> sink (capacity 1). A zero-cost source->sink bypass
lets the flow leave people unmatched when that scores higher, so the optimum is
max *weight*, not max cardinality. Costs are integers, arcs are added in a canonical
order, so results are deterministic.

"either" participants appear on both sides, which makes the problem non-bipartite:
the flow relaxation could use the same person as mentor *and* mentee. We solve the
relaxation (an upper bound), and if it has such conflicts we (1) build a feasible
incumbent by locking each conflicted person to their more valuable side and
re-solving only the residual graph, then (2) run best-first branch & bound over
"person p is mentor / is mentee" (each branch removes p's other-role arcs) within
a budget of solver calls. Every returned solution is conflict-free; it is proven
optimal when the relaxation had no conflict or branch & bound finished.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

BRANCH_MAX_CONFLICTS = 16

Idx = npt.NDArray[np.intp]
I64 = npt.NDArray[np.int64]
BoolA = npt.NDArray[np.bool_]


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


@dataclass(frozen=True, slots=True)
class SolveOutcome:
    selected: BoolA
    value: int
    upper_bound: int
    proven_optimal: bool
    solver_calls: int


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


def solve(
    mentors: Idx,
    mentees: Idx,
    weights: I64,
    mentor_cap: I64,
    mentee_cap: I64,
    *,
    branch_budget: int = 64,
) -> SolveOutcome:
    """Conflict-free max-weight matching; see module docstring."""
    problem = _Problem(mentors, mentees, weights, mentor_cap, mentee_cap)
    root = np.ones(mentors.size, dtype=np.bool_)
    sel = problem.solve(root)
    bound = problem.value(sel)
    if problem.conflicts(sel).size == 0:
        return SolveOutcome(sel, bound, bound, True, problem.calls)
    best = problem.repair(sel, root)
    best_value = problem.value(best)
    if problem.conflicts(sel).size > BRANCH_MAX_CONFLICTS:
        # Far too many conflicts for branch & bound to close the gap within any
        # sensible budget: return the repaired incumbent and the relaxation bound.
        branch_budget = 0
    # Best-first branch & bound; heap entries: (-bound, tie, allowed mask, solution).
    heap: list[tuple[int, int, BoolA, BoolA]] = [(-bound, 0, root, sel)]
    tie = 1
    budget = branch_budget
    # Expand a node only if both children fit in the budget, so every unexplored
    # subtree stays represented in the heap by its (valid) parent bound.
    while heap and -heap[0][0] > best_value and budget >= 2:
        _, _, allowed, node_sel = heapq.heappop(heap)
        p = int(problem.conflicts(node_sel)[0])
        for drop in (mentees == p, mentors == p):  # p mentors / p is mentored
            child_allowed = allowed & ~drop
            budget -= 1
            child = problem.solve(child_allowed)
            value = problem.value(child)
            if value <= best_value:
                continue
            if problem.conflicts(child).size == 0:
                best, best_value = child, value
            else:
                heapq.heappush(heap, (-value, tie, child_allowed, child))
                tie += 1
    open_bounds = [-h[0] for h in heap if -h[0] > best_value]
    proven = not open_bounds
    upper = max(open_bounds) if open_bounds else best_value
    return SolveOutcome(best, best_value, upper, proven, problem.calls)
