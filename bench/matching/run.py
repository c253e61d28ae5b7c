"""Matching-engine benchmark.

    .tools/bin/uv run python bench/matching/run.py [--sizes 1000,10000,50000] [--repeats 3]

Each measurement runs in a fresh subprocess so peak RSS (ru_maxrss) belongs to
that run alone. Population generation happens before the timer starts.
Modes, all on the same seeded population and the same candidate graph:
  engine  full run_matching (index, candidates, solve, either-repair, explanations, reasons)
  greedy  greedy baseline on the engine's candidate graph (graph build not timed)
  solver  one raw min-cost-flow call on that graph (graph build not timed)
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from population import generate

from bridge_matching.domain.engine import MatchingPolicy, prepare, run_matching
from bridge_matching.domain.engine.greedy import greedy_bmatching
from bridge_matching.domain.engine.solver import max_weight_bmatching


def _policy(region_mode: str) -> MatchingPolicy:
    return MatchingPolicy(region_mode=region_mode, min_overlap_hours=1.0)  # type: ignore[arg-type]


def _worker(mode: str, size: int, seed: int, region_mode: str) -> dict[str, float]:
    cohort = generate(size, seed)
    policy = _policy(region_mode)
    out: dict[str, float] = {}
    if mode == "engine":
        t = time.perf_counter()
        result = run_matching(cohort.participants, policy, history=cohort.history)
        out["seconds"] = time.perf_counter() - t
        out["score"] = result.total_score
        out["upper_bound"] = result.stats.upper_bound
        out["matched_pct"] = 100.0 * result.stats.matched_participants / size
        out["edges"] = result.stats.candidate_edges
        out["solver_calls"] = result.stats.solver_calls
    else:
        prep = prepare(cohort.participants, policy, history=cohort.history)
        g = prep.graph
        w = g.cost_units()
        fn = greedy_bmatching if mode == "greedy" else max_weight_bmatching
        t = time.perf_counter()
        sel = fn(g.mentors, g.mentees, w, prep.mentor_cap, prep.mentee_cap)
        out["seconds"] = time.perf_counter() - t
        out["score"] = float(g.scores.total[sel].sum())
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _measure(mode: str, size: int, seed: int, region_mode: str) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--worker", mode, "--sizes", str(size), "--seed", str(seed)]
    cmd += ["--region-mode", region_mode]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--region-mode", default="any", choices=["any", "same_region", "cross_region"])
    parser.add_argument("--worker", choices=["engine", "greedy", "solver"])
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.worker:
        print(json.dumps(_worker(args.worker, sizes[0], args.seed, args.region_mode)))
        return

    print(f"policy: region_mode={args.region_mode}, min overlap 1 h/week, seed {args.seed}, ")
    print(f"medians of {args.repeats} runs, each in a fresh subprocess\n")
    header = (
        "| size | engine s | peak RSS MiB | total score | relaxation bound | % matched | edges "
        "| greedy s | greedy score | raw solver s | engine/solver | score >= greedy |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for size in sizes:
        runs: dict[str, list[dict[str, float]]] = {"engine": [], "greedy": [], "solver": []}
        for _ in range(args.repeats):
            for mode in runs:
                runs[mode].append(_measure(mode, size, args.seed, args.region_mode))

        def med(mode: str, key: str, runs: dict[str, list[dict[str, float]]] = runs) -> float:
            return statistics.median(r[key] for r in runs[mode])

        eng, gre, sol = med("engine", "seconds"), med("greedy", "seconds"), med("solver", "seconds")
        score, greedy_score = med("engine", "score"), med("greedy", "score")
        print(
            f"| {size:,} | {eng:.2f} | {med('engine', 'peak_rss_mib'):.0f} | {score:,.1f} "
            f"| {med('engine', 'upper_bound'):,.1f} | {med('engine', 'matched_pct'):.1f} "
            f"| {med('engine', 'edges'):,.0f} | {gre:.2f} | {greedy_score:,.1f} | {sol:.2f} "
            f"| {eng / sol:.1f}x | {'yes' if score >= greedy_score - 1e-6 else 'NO'} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
