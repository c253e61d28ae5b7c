"""Matching-engine benchmark: the certified engine beside the raw solver and an independent optimum.

    .tools/bin/uv run python bench/matching/run.py [--sizes 1000,10000,50000] [--repeats 3] \\
        [--modes default,either30] [--seed 7] [--region-mode any] [--engine-timeout S] [--exact-timeout S]

Population modes: "default" (the population's own roles, about 8% "either") and "either30" (30%
"either", drawn from the middle seniority levels). Default policy. Each measurement (engine, raw
solver, exact) of a size and mode runs in its own fresh subprocess, so its peak RSS (ru_maxrss) is its
own; the population is generated before any timer starts. A warm-up process runs first, so numba's
on-disk cache exists.

  engine  `run_matching` end to end, 1 + --repeats calls in one fresh process: the first call loads
          numba's compiled cache and is reported apart ("first call"); the table's time is the median
          of the other calls. Also the certified gap, proven_optimal, upper bound, pricing rounds and
          priced pairs from `MatchStats`, and the objective (sum of the pairs' solver units).
  solver  the raw solver: `max_weight_bmatching` (one min-cost flow) on the sparse candidate graph from
          `prepare` (graph build not timed), median of --repeats solves. It lets "either" people take
          both roles, so its pairing can be infeasible; the people in two roles are counted.
  exact   an independent optimum that uses none of the engine's candidates, pricing or solver: every
          role- and seniority-allowed mentor x mentee pair goes through `scoring.feasible` and
          `scoring.score` (chunked), then
          * the bipartite relaxation (own min-cost flow; "either" people may take both roles): an upper
            bound, and the exact optimum when it puts nobody in two roles;
          * otherwise: the plain pairing LP over every pair (own column generation, reduced costs of
            every pair in numpy each round; one row per person as in engine/lp.py, no cuts), a pairing
            rounded from it, reduced-cost fixing (a pairing that uses a pair whose reduced cost is
            <= -(LP bound - rounded value) scores at most the rounded value), and a HiGHS MIP over the
            pairs left, with a time limit; skipped when more than --mip-max-pairs are left (then the
            table gives the LP bound and the rounded pairing). Up to --direct-mip-max-pairs feasible
            pairs, a MIP over every pair without fixing cross-checks the answer.
          Not computed (the table gives the count) when the allowed pairs exceed --exact-max-pairs.

All solvers maximise the engine's solver units (score rounded to 1e-6, plus 1e-6 per pair), so the
"objective", bound and optimum columns are in score units including that tie-break.
Ends with one JSON line of every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

sys.path.insert(0, str(Path(__file__).resolve().parent))

from population import generate

from bridge_matching.domain.engine import MatchingPolicy, prepare, run_matching
from bridge_matching.domain.engine.index import PopulationIndex
from bridge_matching.domain.engine.scoring import SCORE_SCALE, feasible, score
from bridge_matching.domain.engine.solver import max_weight_bmatching

MODES = {"default": None, "either30": 0.3}
Row = dict[str, Any]  # Any: one benchmark figure (number, bool or note)
Idx = npt.NDArray[np.intp]
I64 = npt.NDArray[np.int64]
PAIR_CHUNK = 1 << 21  # candidate pairs checked per numpy call in the exact enumeration


def _policy(region_mode: str) -> MatchingPolicy:
    return MatchingPolicy(region_mode=region_mode)


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- workers (one fresh process each) -----------------------------------------------------------


def _engine(size: int, seed: int, mode: str, region_mode: str, repeats: int) -> Row:
    """1 + ``repeats`` calls in this fresh process: the first loads numba's compiled cache."""
    cohort = generate(size, seed, either_share=MODES[mode])
    policy = _policy(region_mode)
    times = []
    objectives = set()
    for _ in range(1 + repeats):
        t = time.perf_counter()
        result = run_matching(cohort.participants, policy, history=cohort.history)
        times.append(time.perf_counter() - t)
        objectives.add(sum(round(p.score * SCORE_SCALE) + 1 for p in result.pairs))
        if len(objectives) != 1:
            raise RuntimeError("the engine gave different pairings for the same input")
        row = _engine_row(cohort.participants, result, times)
        # What is known so far, in case the driver's timeout stops this process.
        print("PARTIAL " + json.dumps(row), file=sys.stderr, flush=True)
    return row


def _engine_row(participants: list[Any], result: Any, times: list[float]) -> Row:  # Any: a MatchResult
    st = result.stats
    return {
        "first_s": times[0],
        "runs_s": times[1:],
        "seconds": statistics.median(times[1:]) if len(times) > 1 else None,
        "score": st.total_score,
        "objective": sum(round(p.score * SCORE_SCALE) + 1 for p in result.pairs) / SCORE_SCALE,
        "upper_bound": st.upper_bound,
        "certified_gap_pct": 100.0 * st.certified_gap,
        "proven_optimal": st.proven_optimal,
        "pricing_rounds": st.pricing_rounds,
        "priced_pairs": st.priced_pairs,
        "lp_columns": st.candidate_edges,
        "pairs": len(result.pairs),
        "either": sum(p.role == "either" for p in participants),
        "timings_s": st.timings_s,
        "peak_rss_mib": _rss_mib(),
    }


def _solver(size: int, seed: int, mode: str, region_mode: str, repeats: int) -> Row:
    cohort = generate(size, seed, either_share=MODES[mode])
    prep = prepare(cohort.participants, _policy(region_mode), history=cohort.history)
    g = prep.graph
    w = g.cost_units()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        sel = max_weight_bmatching(g.mentors, g.mentees, w, prep.mentor_cap, prep.mentee_cap)
        times.append(time.perf_counter() - t)
    conflicts = np.intersect1d(g.mentors[sel], g.mentees[sel]).size  # people in both roles
    return {
        "seconds": statistics.median(times),
        "runs_s": times,
        "score": float(g.scores.total[sel].sum()),
        "objective": int(w[sel].sum()) / SCORE_SCALE,
        "edges": g.size,
        "conflicts": int(conflicts),
        "peak_rss_mib": _rss_mib(),
    }


def _capacities(cohort_participants: list[Any], policy: MatchingPolicy) -> tuple[I64, I64]:
    """Mentor places and mentee places per person, from the profiles (not from the engine)."""
    mentor = np.array(
        [
            0 if p.role == "mentee" else min(p.capacity, policy.max_mentees_per_mentor)
            for p in cohort_participants
        ],
        dtype=np.int64,
    )
    mentee = np.array([0 if p.role == "mentor" else 1 for p in cohort_participants], dtype=np.int64)
    return mentor, mentee


def _full_graph(index: PopulationIndex, mentor_cap: I64, mentee_cap: I64, limit: int) -> Row:
    """Every feasible (mentor, mentee) pair with its weight, or only the count of allowed pairs
    (role and seniority) when that count exceeds ``limit``."""
    seniority = np.asarray(index.seniority)
    mentors = np.flatnonzero(mentor_cap > 0)
    mentees = np.flatnonzero(mentee_cap > 0)
    order = np.argsort(seniority[mentors], kind="stable")
    mentors = mentors[order]
    # Mentors strictly less senior than each mentee: a prefix of ``mentors`` (the seniority rule,
    # which `feasible` checks again).
    upto = np.searchsorted(seniority[mentors], seniority[mentees], side="left")
    allowed = int(upto.sum())
    if allowed > limit:
        return {"allowed_pairs": allowed, "computed": False}
    ms: list[Idx] = []
    es: list[Idx] = []
    us: list[I64] = []
    tot: list[npt.NDArray[np.float64]] = []
    start = 0
    while start < mentees.size:
        stop, count = start, 0
        while stop < mentees.size and (count == 0 or count + upto[stop] <= PAIR_CHUNK):
            count += int(upto[stop])
            stop += 1
        e = np.repeat(mentees[start:stop], upto[start:stop])
        offsets = np.arange(count) - np.repeat(
            np.cumsum(upto[start:stop]) - upto[start:stop], upto[start:stop]
        )
        m = mentors[offsets]
        ok = feasible(index, m, e)
        m, e = m[ok], e[ok]
        sc = score(index, m, e)
        ms.append(m)
        es.append(e)
        us.append(sc.cost_units())
        tot.append(sc.total)
        start = stop
    return {
        "allowed_pairs": allowed,
        "computed": True,
        "m": np.concatenate(ms) if ms else np.zeros(0, dtype=np.intp),
        "e": np.concatenate(es) if es else np.zeros(0, dtype=np.intp),
        "units": np.concatenate(us) if us else np.zeros(0, dtype=np.int64),
        "total": np.concatenate(tot) if tot else np.zeros(0),
    }


def _flow(m: Idx, e: Idx, units: I64, mentor_cap: I64, mentee_cap: I64) -> npt.NDArray[np.bool_]:
    """Max-weight bipartite b-matching by min-cost flow (source -> mentor -> mentee -> sink, and a
    zero-cost bypass so nobody has to be matched); written here, not the engine's."""
    n = mentor_cap.size
    source, sink = 2 * n, 2 * n + 1
    people = np.arange(n, dtype=np.int64)
    supply = int(min(mentor_cap.sum(), mentee_cap.sum()))
    tails = np.concatenate([m, np.full(n, source), n + people, [source]])
    heads = np.concatenate([n + e, people, np.full(n, sink), [sink]])
    caps = np.concatenate([np.ones(m.size, dtype=np.int64), mentor_cap, mentee_cap, [supply]])
    costs = np.concatenate([-units, np.zeros(2 * n + 1, dtype=np.int64)])
    mcf = min_cost_flow.SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64), costs.astype(np.int64)
    )
    supplies = np.zeros(2 * n + 2, dtype=np.int64)
    supplies[source], supplies[sink] = supply, -supply
    mcf.set_nodes_supplies(np.arange(supplies.size, dtype=np.int32), supplies)
    if mcf.solve() != mcf.OPTIMAL:
        raise RuntimeError("min-cost flow not optimal")
    return np.asarray(mcf.flows(np.arange(m.size, dtype=np.int32))) > 0


def _model(m: Idx, e: Idx, units: I64, mentor_cap: I64, mentee_cap: I64) -> highspy.Highs:
    """The pairing over the columns (m, e): x in [0, 1]; one row per person,
    sum(x as mentor) + max(cap, 1) * sum(x as mentee) <= cap (mentors, "either") or <= 1 (mentees).
    At integer points an "either" person mentors up to cap people or is mentored once, never both."""
    n, k = mentor_cap.size, m.size
    coef = np.maximum(mentor_cap, 1).astype(np.float64)
    h = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy's constructor is unannotated
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    lp = highspy.HighsLp()
    lp.num_col_ = k
    lp.num_row_ = n
    lp.col_cost_ = -units.astype(np.float64)
    lp.col_lower_ = np.zeros(k)
    lp.col_upper_ = np.ones(k)
    lp.row_lower_ = np.full(n, -highspy.kHighsInf)
    lp.row_upper_ = np.where(mentor_cap > 0, mentor_cap, mentee_cap).astype(np.float64)
    index = np.empty(2 * k, dtype=np.int32)
    index[0::2], index[1::2] = m, e
    values = np.empty(2 * k)
    values[0::2], values[1::2] = 1.0, coef[e]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, 2 * k + 1, 2, dtype=np.int32)
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = values
    h.passModel(lp)
    return h


def _mip(
    m: Idx,
    e: Idx,
    units: I64,
    mentor_cap: I64,
    mentee_cap: I64,
    time_limit: float,
    start: npt.NDArray[np.bool_] | None = None,
) -> Row:
    """HiGHS branch-and-cut on the pairing model, x binary (objective in solver units)."""
    k = m.size
    h = _model(m, e, units, mentor_cap, mentee_cap)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.5)  # weights are integer units: under one unit is none
    h.changeColsIntegrality(k, np.arange(k, dtype=np.int32), np.full(k, highspy.HighsVarType.kInteger))
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = start.astype(np.float64)
        sol.value_valid = True
        h.setSolution(sol)
    t = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2
    x = np.asarray(h.getSolution().col_value) if has_solution else np.zeros(k)
    sel = x > 0.5
    return {
        "status": h.modelStatusToString(h.getModelStatus()),
        "optimal": h.getModelStatus() == highspy.HighsModelStatus.kOptimal,
        "seconds": seconds,
        "incumbent": int(units[sel].sum()) if has_solution else None,
        "bound": -float(info.mip_dual_bound),
        "selected": sel,
    }


def _repair(m: Idx, e: Idx, units: I64, mentor_cap: I64, mentee_cap: I64, sel: npt.NDArray[np.bool_]) -> Row:
    """A feasible pairing from the bipartite relaxation: people in two roles keep the side that
    carries more weight, everyone matched keeps their role, and the flow is solved again on the
    edges left, until nobody has two roles."""
    n = mentor_cap.size
    mentor_ok = mentor_cap > 0
    mentee_ok = mentee_cap > 0
    rounds = 0
    while True:
        both = np.intersect1d(m[sel], e[sel])
        if both.size == 0:
            return {"selected": sel, "rounds": rounds}
        rounds += 1
        as_mentor = np.bincount(m[sel], weights=units[sel], minlength=n)
        as_mentee = np.bincount(e[sel], weights=units[sel], minlength=n)
        keep_mentor = as_mentor[both] >= as_mentee[both]
        mentee_ok[both[keep_mentor]] = False
        mentor_ok[both[~keep_mentor]] = False
        mentor_ok[np.unique(e[sel])] &= np.isin(np.unique(e[sel]), both)  # matched as mentee: stay one
        mentee_ok[np.unique(m[sel])] &= np.isin(np.unique(m[sel]), both)
        allowed = mentor_ok[m] & mentee_ok[e]
        idx = np.flatnonzero(allowed)
        sub = _flow(
            m[idx], e[idx], units[idx], np.where(mentor_ok, mentor_cap, 0), np.where(mentee_ok, mentee_cap, 0)
        )
        sel = np.zeros(m.size, dtype=np.bool_)
        sel[idx[sub]] = True


COLGEN_PER_MENTEE = 8  # columns added per mentee per round of the independent column generation


def _lp_bound(
    m: Idx, e: Idx, units: I64, mentor_cap: I64, mentee_cap: I64, first: npt.NDArray[np.bool_]
) -> Row:
    """The pairing LP over EVERY feasible pair, by column generation with exhaustive numpy pricing
    (reduced costs of all pairs each round). Returns a dual-feasible bound (in units) and every
    pair's reduced cost against it: a pair with reduced cost <= -(bound - value of any pairing)
    is in no pairing that scores more than that pairing."""
    n = mentor_cap.size
    coef = np.maximum(mentor_cap, 1).astype(np.float64)
    rhs = np.where(mentor_cap > 0, mentor_cap, mentee_cap).astype(np.float64)
    w = units.astype(np.float64)
    cols = first.copy()
    h = _model(m[cols], e[cols], units[cols], mentor_cap, mentee_cap)
    ids = [np.flatnonzero(cols)]  # the pair behind each LP column, in column order
    rounds = 0
    t = time.perf_counter()
    while True:
        rounds += 1
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"LP not solved: {h.modelStatusToString(h.getModelStatus())}")
        y = np.maximum(-np.asarray(h.getSolution().row_dual), 0.0)
        rc = w - y[m] - coef[e] * y[e]
        cand = np.flatnonzero((rc > 1e-3) & ~cols)
        if cand.size == 0:
            break
        order = cand[np.lexsort((-rc[cand], e[cand]))]
        es = e[order]
        first_of = np.r_[True, es[1:] != es[:-1]]
        begin = np.maximum.accumulate(np.where(first_of, np.arange(es.size), 0))
        add = order[(np.arange(es.size) - begin) < COLGEN_PER_MENTEE]
        k = add.size
        index = np.empty(2 * k, dtype=np.int32)
        index[0::2], index[1::2] = m[add], e[add]
        values = np.empty(2 * k)
        values[0::2], values[1::2] = 1.0, coef[e[add]]
        h.addCols(
            k, -w[add], np.zeros(k), np.ones(k), 2 * k, np.arange(0, 2 * k, 2, dtype=np.int32), index, values
        )
        cols[add] = True
        ids.append(add)
    # Dual feasibility made exact: raise each mentee's price by its best positive reduced cost.
    rho = np.zeros(n)
    np.maximum.at(rho, e, np.maximum(rc, 0.0))
    y = y + rho / coef
    rc = w - y[m] - coef[e] * y[e]
    x = np.zeros(m.size)
    x[np.concatenate(ids)] = np.asarray(h.getSolution().col_value)
    return {
        "x": x,
        "cols": cols,
        "bound": float(rhs @ y),
        "lp_value": -float(h.getInfo().objective_function_value),
        "reduced": rc,
        "rounds": rounds,
        "columns": int(cols.sum()),
        "seconds": time.perf_counter() - t,
    }


def _top_per(group: Idx, units: I64, k: int) -> npt.NDArray[np.bool_]:
    order = np.lexsort((-units, group))
    g = group[order]
    first_of = np.r_[True, g[1:] != g[:-1]]
    begin = np.maximum.accumulate(np.where(first_of, np.arange(g.size), 0))
    out = np.zeros(group.size, dtype=np.bool_)
    out[order[(np.arange(g.size) - begin) < k]] = True
    return out


def _round_lp(m: Idx, e: Idx, units: I64, mentor_cap: I64, mentee_cap: I64, lp: Row) -> npt.NDArray[np.bool_]:
    """A feasible pairing from the LP: each "either" person takes the side the LP gave more of their
    row to, an exact flow pairs the LP's columns under those roles, and `_repair` settles the rest."""
    n = mentor_cap.size
    sub = np.flatnonzero(lp["cols"])
    x, ms, es, us = lp["x"][sub], m[sub], e[sub], units[sub]
    as_mentor = np.bincount(ms, weights=x, minlength=n) / np.maximum(mentor_cap, 1)
    as_mentee = np.bincount(es, weights=x, minlength=n)
    either = (mentor_cap > 0) & (mentee_cap > 0)
    mentor_role = either & (as_mentor > as_mentee)
    mentee_role = either & (as_mentee > as_mentor)
    idx = np.flatnonzero(~(mentee_role[ms] | mentor_role[es]))
    sel = np.zeros(sub.size, dtype=np.bool_)
    sel[idx[_flow(ms[idx], es[idx], us[idx], mentor_cap, mentee_cap)]] = True
    sel = _repair(ms, es, us, mentor_cap, mentee_cap, sel)["selected"]
    out = np.zeros(m.size, dtype=np.bool_)
    out[sub[sel]] = True
    return out


def _exact_either(
    m: Idx,
    e: Idx,
    units: I64,
    mentor_cap: I64,
    mentee_cap: I64,
    relaxed: npt.NDArray[np.bool_],
    time_limit: float,
    mip_max_pairs: int,
) -> Row:
    """The optimum with "either" people: the LP bound over every pair (column generation), a feasible
    pairing rounded from the LP, then the MIP over the pairs that reduced-cost fixing leaves (exact for
    the whole graph: a pairing that uses a fixed-out pair scores at most the rounded one)."""
    first = relaxed | _top_per(e, units, 4) | _top_per(m, units, 2)
    lp = _lp_bound(m, e, units, mentor_cap, mentee_cap, first)
    _log(f"LP bound {lp['bound'] / SCORE_SCALE:,.3f}: {lp['rounds']} rounds, {lp['seconds']:.1f} s")
    rounded = _round_lp(m, e, units, mentor_cap, mentee_cap, lp)
    rep = {"selected": rounded}
    lower = int(units[rounded].sum())
    gap = lp["bound"] - lower
    keep = (lp["reduced"] > -gap - 1.0) | rounded
    idx = np.flatnonzero(keep)
    _log(f"rounded pairing {lower / SCORE_SCALE:,.3f}; {idx.size:,} pairs left by reduced-cost fixing")
    out: Row = {
        "lower": lower / SCORE_SCALE,
        "lp_bound": lp["bound"] / SCORE_SCALE,
        "lp_rounds": lp["rounds"],
        "lp_columns": lp["columns"],
        "lp_s": lp["seconds"],
        "mip_columns": int(idx.size),
    }
    if idx.size > mip_max_pairs:  # HiGHS would not even finish its root in the time limit
        out.update(
            mip_status=f"not run: {idx.size:,} pairs > {mip_max_pairs:,}",
            mip_s=0.0,
            optimal=lower >= lp["bound"] - 1.0,
            incumbent=lower / SCORE_SCALE,
            bound=lp["bound"] / SCORE_SCALE,
            selected=rounded,
        )
        return out
    mip = _mip(m[idx], e[idx], units[idx], mentor_cap, mentee_cap, time_limit, start=rounded[idx])
    best = lower
    sel = rep["selected"]
    if mip["incumbent"] is not None and mip["incumbent"] > lower:
        best = mip["incumbent"]
        sel = np.zeros(m.size, dtype=np.bool_)
        sel[idx[mip["selected"]]] = True
    # Pairings that use a fixed-out pair score at most ``lower``.
    bound = min(lp["bound"], max(mip["bound"], float(lower)))
    out.update(
        mip_status=mip["status"],
        mip_s=mip["seconds"],
        optimal=mip["optimal"] or best >= bound - 1.0,
        incumbent=best / SCORE_SCALE,
        bound=max(bound, float(best)) / SCORE_SCALE,
        selected=sel,
    )
    return out


def _exact(
    size: int,
    seed: int,
    mode: str,
    region_mode: str,
    limit: int,
    mip_time_limit: float,
    direct_mip_max: int,
    mip_max_pairs: int,
) -> Row:
    cohort = generate(size, seed, either_share=MODES[mode])
    policy = _policy(region_mode)
    t0 = time.perf_counter()
    index = PopulationIndex(cohort.participants, policy, history=cohort.history)
    mentor_cap, mentee_cap = _capacities(cohort.participants, policy)
    graph = _full_graph(index, mentor_cap, mentee_cap, limit)
    out: Row = {"allowed_pairs": graph["allowed_pairs"], "computed": graph["computed"]}
    if not graph["computed"]:
        out["peak_rss_mib"] = _rss_mib()
        return out
    m, e, units, total = graph["m"], graph["e"], graph["units"], graph["total"]
    out["feasible_pairs"] = int(m.size)
    out["graph_s"] = time.perf_counter() - t0
    _log(f"exact {size} {mode}: {m.size:,} feasible pairs in {out['graph_s']:.1f} s")
    t = time.perf_counter()
    sel = _flow(m, e, units, mentor_cap, mentee_cap)
    out["relaxation_s"] = time.perf_counter() - t
    out["relaxation"] = int(units[sel].sum()) / SCORE_SCALE
    out["relaxation_conflicts"] = int(np.intersect1d(m[sel], e[sel]).size)
    _log(f"relaxation {out['relaxation']:,.3f} in {out['relaxation_s']:.1f} s")
    either = int(np.count_nonzero((mentor_cap > 0) & (mentee_cap > 0)))
    out["either"] = either
    if out["relaxation_conflicts"] == 0:  # a feasible pairing that reaches an upper bound: optimal
        out.update(method="flow", optimal=True, optimum=out["relaxation"], bound=out["relaxation"])
        out["optimum_score"] = float(total[sel].sum())
    else:
        res = _exact_either(m, e, units, mentor_cap, mentee_cap, sel, mip_time_limit, mip_max_pairs)
        out["method"] = "LP+fixing+MIP"
        out.update({k: v for k, v in res.items() if k != "selected"})
        out["bound"] = min(res["bound"], out["relaxation"])
        out["optimum"] = res["incumbent"] if res["optimal"] else None
        out["incumbent_score"] = float(total[res["selected"]].sum())
        if res["optimal"]:
            out["optimum_score"] = out["incumbent_score"]
        if m.size <= direct_mip_max:  # cross-check: HiGHS on the whole graph, no fixing
            direct = _mip(m, e, units, mentor_cap, mentee_cap, mip_time_limit)
            out["direct_mip_status"] = direct["status"]
            out["direct_mip_s"] = direct["seconds"]
            out["direct_mip_value"] = (
                None if direct["incumbent"] is None else direct["incumbent"] / SCORE_SCALE
            )
            out["direct_mip_agrees"] = bool(
                direct["optimal"]
                and res["optimal"]
                and direct["incumbent"] == round(res["incumbent"] * SCORE_SCALE)
            )
    out["peak_rss_mib"] = _rss_mib()
    return out


# --- driver -------------------------------------------------------------------------------------


def _measure(kind: str, size: int, mode: str, args: argparse.Namespace) -> Row:
    cmd = [sys.executable, __file__, "--worker", kind, "--sizes", str(size), "--modes", mode]
    cmd += ["--seed", str(args.seed), "--region-mode", args.region_mode, "--repeats", str(args.repeats)]
    cmd += ["--exact-max-pairs", str(args.exact_max_pairs), "--mip-time-limit", str(args.mip_time_limit)]
    cmd += [
        "--direct-mip-max-pairs",
        str(args.direct_mip_max_pairs),
        "--mip-max-pairs",
        str(args.mip_max_pairs),
    ]
    timeout = {"exact": args.exact_timeout, "engine": args.engine_timeout}.get(kind)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        partial = [line[8:] for line in err.splitlines() if line.startswith("PARTIAL ")]
        if kind == "engine" and partial:  # the calls that finished before the timeout
            done: Row = json.loads(partial[-1])
            done["timed_out"] = timeout
            return done
        if kind == "engine":
            return {"no_call": True, "timed_out": timeout}
        return {"computed": False, "timed_out": timeout, "log": err.strip().splitlines()[-3:]}
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} {size} {mode} failed:\n{proc.stderr[-3000:]}")
    row: Row = json.loads(proc.stdout.strip().splitlines()[-1])
    return row


def _pct(a: float, b: float) -> float:
    return 100.0 * (b - a) / b if b else 0.0


def _summary(size: int, mode: str, eng: Row, sol: Row, exact: Row | None) -> Row:
    out: Row = {
        "size": size,
        "mode": mode,
        "either": eng["either"],
        "engine_s": eng["seconds"] if eng["seconds"] is not None else eng["first_s"],
        "engine_timed_out_s": eng.get("timed_out"),
        "engine_first_call_s": eng["first_s"],
        "engine_runs_s": [round(t, 3) for t in eng["runs_s"]],
        "peak_rss_mib": eng["peak_rss_mib"],
        **{k: eng[k] for k in ("score", "objective", "upper_bound", "certified_gap_pct", "proven_optimal")},
        **{k: eng[k] for k in ("pricing_rounds", "priced_pairs", "lp_columns", "pairs")},
        "stage_s": {k: round(v, 3) for k, v in eng["timings_s"].items()},
        "raw_solver_s": sol["seconds"],
        "raw_solver_runs_s": [round(t, 3) for t in sol["runs_s"]],
        "raw_solver_rss_mib": sol["peak_rss_mib"],
        "raw_score": sol["score"],
        "raw_objective": sol["objective"],
        "raw_edges": sol["edges"],
        "raw_conflicts": sol["conflicts"],
    }
    if exact is None:
        return out
    out["exact"] = exact
    if not exact["computed"]:
        return out
    best_known = exact.get("optimum") or exact.get("incumbent")
    bound = exact["bound"]
    if best_known is not None:
        # Engine vs the independent optimum (or the MIP's incumbent when it did not finish).
        out["gap_to_optimum_pct"] = _pct(eng["objective"], best_known)
        out["raw_gap_to_optimum_pct"] = _pct(sol["objective"], best_known)
        # The certificate holds if the engine's bound is not below a pairing that exists.
        out["certificate_holds"] = eng["upper_bound"] >= best_known - 1e-6
    if "lp_bound" in exact:
        # The plain pairing LP over every pair (no cuts): the engine's bound may be lower when its cuts
        # tighten the LP; it must never be lower than a pairing that exists (certificate_holds).
        out["engine_bound_minus_independent_lp"] = eng["upper_bound"] - exact["lp_bound"]
    out["gap_to_exact_bound_pct"] = _pct(eng["objective"], bound)
    return out


def _fmt_row(r: Row) -> str:
    ex = r.get("exact")
    if ex is None:
        exact, gap, holds, raw_gap = "not run", "-", "-", "-"
    elif ex.get("timed_out"):
        exact = f"not computed: timed out after {ex['timed_out']:.0f} s"
        gap, holds, raw_gap = "-", "-", "-"
    elif not ex["computed"]:
        exact = f"not computed: {ex['allowed_pairs']:,} role/seniority-allowed pairs"
        gap, holds, raw_gap = "-", "-", "-"
    else:
        fp = f"{ex['feasible_pairs']:,} pairs"
        if ex.get("optimum") is not None:
            exact = f"{ex['optimum']:,.3f} ({ex['method']}, {fp})"
            gap = f"{r['gap_to_optimum_pct']:.4f}"
        elif ex.get("incumbent") is not None:
            exact = f"not proven ({ex['mip_status']}, {ex['mip_s']:.0f} s): incumbent {ex['incumbent']:,.3f}, bound {ex['bound']:,.3f} ({fp})"
            gap = f"{r['gap_to_optimum_pct']:.4f} vs incumbent, <= {r['gap_to_exact_bound_pct']:.4f}"
        else:
            exact = f"no incumbent ({ex['mip_status']}): bound {ex['bound']:,.3f} ({fp})"
            gap = f"<= {r['gap_to_exact_bound_pct']:.4f}"
        holds = "yes" if r.get("certificate_holds") else ("NO" if "certificate_holds" in r else "-")
        if "engine_bound_minus_independent_lp" in r:
            holds += f" (plain LP over every pair: {ex['lp_bound']:,.3f})"
        raw_gap = f"{r['raw_gap_to_optimum_pct']:.3f}" if "raw_gap_to_optimum_pct" in r else "-"
    first = f"{r['engine_first_call_s']:.2f}"
    engine_s = f"{r['engine_s']:.2f}"
    if r["engine_timed_out_s"] is not None:
        done = len(r["engine_runs_s"])
        engine_s = f"{engine_s} ({done} timed call(s) before the {r['engine_timed_out_s']:.0f} s limit)"
        if not done:
            engine_s = f"{first} (first call only, {r['engine_timed_out_s']:.0f} s limit)"
    conflicts = f" ({r['raw_conflicts']} in 2 roles)" if r["raw_conflicts"] else ""
    return (
        f"| {r['size']:,} | {r['mode']} ({r['either']:,}) | {engine_s} | {first} "
        f"| {r['peak_rss_mib']:.0f} | {r['certified_gap_pct']:.4f} | {'yes' if r['proven_optimal'] else 'no'} "
        f"| {r['objective']:,.3f} | {r['upper_bound']:,.3f} | {r['pricing_rounds']} | {r['priced_pairs']:,} "
        f"| {r['raw_solver_s']:.2f} | {r['raw_objective']:,.3f}{conflicts} | {exact} | {gap} | {holds} | {raw_gap} |"
    )


HEADER = (
    "| size | population (either) | engine s | first call s | peak RSS MiB | certified gap % | proven "
    "| engine objective | upper bound | pricing rounds | priced pairs | raw solver s | raw solver objective "
    "| independent optimum | engine gap to optimum % | engine bound >= independent pairing | raw solver gap % |"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--modes", default="default,either30", help=f"comma-separated of {sorted(MODES)}")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--region-mode", default="any", choices=["any", "same_region", "cross_region"])
    parser.add_argument("--exact-max-pairs", type=int, default=100_000_000)
    parser.add_argument("--mip-time-limit", type=float, default=240.0)
    parser.add_argument("--direct-mip-max-pairs", type=int, default=100_000)
    parser.add_argument("--mip-max-pairs", type=int, default=200_000, help="largest MIP after fixing")
    parser.add_argument("--engine-timeout", type=float, default=None, help="seconds for one engine process")
    parser.add_argument("--exact-timeout", type=float, default=900.0, help="seconds for one exact worker")
    parser.add_argument("--no-exact", action="store_true")
    parser.add_argument("--worker", choices=["engine", "solver", "exact"])
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    if args.worker:
        size, mode = sizes[0], modes[0]
        if args.worker == "engine":
            row = _engine(size, args.seed, mode, args.region_mode, args.repeats)
        elif args.worker == "solver":
            row = _solver(size, args.seed, mode, args.region_mode, args.repeats)
        else:
            row = _exact(
                size,
                args.seed,
                mode,
                args.region_mode,
                args.exact_max_pairs,
                args.mip_time_limit,
                args.direct_mip_max_pairs,
                args.mip_max_pairs,
            )
            row.pop("selected", None)
        print(json.dumps(row))
        return

    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    print(
        f"policy: default (region_mode={args.region_mode}), seed {args.seed}, one fresh process per measurement (engine: 1 + {args.repeats} calls, median of the last {args.repeats})"
    )
    _measure(
        "engine", 1000, modes[0], argparse.Namespace(**{**vars(args), "repeats": 0})
    )  # warm-up: numba's on-disk cache exists before timing
    rows: list[Row] = []
    print("\n" + HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1), flush=True)
    for size in sizes:
        for mode in modes:
            engine = _measure("engine", size, mode, args)
            if engine.get("no_call"):
                note = f"no engine call finished within the {engine['timed_out']:.0f} s limit"
                print(f"| {size:,} | {mode} | {note} |" + " |" * 14, flush=True)
                rows.append(
                    {"size": size, "mode": mode, "engine_timed_out_s": engine["timed_out"], "note": note}
                )
                continue
            solver = _measure("solver", size, mode, args)
            exact = None if args.no_exact else _measure("exact", size, mode, args)
            row = _summary(size, mode, engine, solver, exact)
            rows.append(row)
            print(_fmt_row(row), flush=True)
    print()
    for r in rows:
        if "note" in r:
            continue
        ex = r.get("exact") or {}
        detail = ", ".join(f"{k} {v:.2f}" for k, v in r["stage_s"].items())
        extra = ""
        if ex.get("computed"):
            extra = (
                f"; exact: graph {ex['graph_s']:.1f} s, relaxation {ex['relaxation']:,.3f} "
                f"({ex['relaxation_s']:.1f} s, {ex['relaxation_conflicts']} people in 2 roles)"
            )
            if ex.get("method") == "LP+fixing+MIP":
                extra += (
                    f", repaired relaxation {ex['lower']:,.3f}, LP bound {ex['lp_bound']:,.3f} ({ex['lp_rounds']} rounds, "
                    f"{ex['lp_columns']:,} columns, {ex['lp_s']:.1f} s), MIP on {ex['mip_columns']:,} pairs left by "
                    f"reduced-cost fixing: {ex['mip_status']} in {ex['mip_s']:.1f} s"
                )
            if "direct_mip_status" in ex:
                extra += (
                    f"; cross-check, MIP on every pair without fixing: {ex['direct_mip_status']} in "
                    f"{ex['direct_mip_s']:.1f} s, agrees: {'yes' if ex['direct_mip_agrees'] else 'NO'}"
                )
            extra += f", peak RSS {ex['peak_rss_mib']:.0f} MiB"
        print(
            f"{r['size']:,} {r['mode']}: engine runs {r['engine_runs_s']} s ({detail}); "
            f"{r['pairs']:,} pairs, LP columns {r['lp_columns']:,}; raw solver on {r['raw_edges']:,} edges{extra}"
        )
    load_after = os.getloadavg()
    print(f"\nload average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    print(
        json.dumps(
            {
                "bench": "matching",
                "seed": args.seed,
                "region_mode": args.region_mode,
                "repeats": args.repeats,
                "load_before": [round(x, 2) for x in load_before],
                "load_after": [round(x, 2) for x in load_after],
                "rows": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
