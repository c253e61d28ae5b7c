"""Circle formation (issue 15): the engine beside a naive baseline in the same run.

    .tools/bin/uv run python bench/matching/circles.py [--size 10000] [--repeats 3] [--seed 7] \\
        [--programme 2026-02-02:2026-05-31] [--no-check]

Population: `population.generate` (the pair benchmark's seeded enterprise: a management tree of depth
7, offices in 18 time zones with their languages, Zipf-distributed skills where juniors share digital
skills and want leadership ones and seniors the reverse, 2-4 windows of local working hours, 1% blocks),
with the tree's levels mapped onto the service's seniority scale (1-15) so the default `CirclePolicy`
(juniors <= 4, seniors >= 8) sees about 64% juniors, 24% seniors and 12% in between; half the seniors,
a tenth of the others and a twentieth of the juniors are facilitator-eligible. The programme dates
(default February to May 2026) cross the daylight-saving changes of North America, Europe and
Australia: a circle needs a common hour in every week, each with its own offsets.

  engine    `form_circles` with the default policy, --repeats calls after one warm-up call on a small
            cohort (it loads Babel's language names); median wall time, and CPU time beside it (the
            machine is shared: wall time moves with the load, printed before and after). The circles
            must be the same on every call (deterministic for a seed).
  baseline  a naive greedy in arrival order (a seeded shuffle of the cohort) under the same hard rules:
            each person joins the first open circle they fit (a language all speak, a start slot left
            in every week, no chain or block clash, room, and room left for the juniors, seniors and
            facilitator the circle still needs), else opens a new one; circles that end below the
            policy's minimums are dissolved. Same prepared data and scoring formulas as the engine.

With checks on (the default), every circle of both is re-checked with the scalar oracle
(`circles.constraints.circle_violations`: intervals week by week, not the engine's bitsets), and
everyone must be in exactly one circle or left out with a reason. Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import resource
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from population import generate

from bridge_matching.domain.circles import CirclePolicy, CircleResult, form_circles
from bridge_matching.domain.circles.builder import open_circle
from bridge_matching.domain.circles.constraints import circle_violations
from bridge_matching.domain.circles.prepare import JUNIOR, SENIOR, CircleCohort, build_cohort
from bridge_matching.domain.circles.scoring import covered_wishes, parts
from bridge_matching.domain.engine import Participant

# population.py's tree levels (0 = the newest joiners ... 7 = the CEO) on the service's 1-15 scale.
LEVELS = {0: 2, 1: 3, 2: 4, 3: 6, 4: 8, 5: 10, 6: 12, 7: 14}
ELIGIBLE_SHARE = {"junior": 0.05, "other": 0.10, "senior": 0.50}


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cohort(size: int, seed: int, policy: CirclePolicy) -> tuple[list[Participant], frozenset[str]]:
    people = [
        dataclasses.replace(p, seniority=LEVELS[p.seniority]) for p in generate(size, seed).participants
    ]
    rng = random.Random(f"facilitators:{seed}")
    eligible = frozenset(
        p.id for p in people if rng.random() < ELIGIBLE_SHARE[policy.generation(p.seniority)]
    )
    return people, eligible


def managers(people: Sequence[Participant]) -> dict[str, str | None]:
    return {p.id: p.manager_id for p in people}


# -- the baseline -----------------------------------------------------------------------------------


def baseline(
    people: Sequence[Participant], policy: CirclePolicy, eligible: frozenset[str], seed: int
) -> tuple[list[list[int]], CircleCohort]:
    """First fit in arrival order under the engine's hard rules; the circles that stay incomplete are
    dissolved. Returns the circles (cohort positions) and the prepared cohort."""
    c = build_cohort(people, policy, facilitator_eligible=eligible, manager_of=managers(people))
    arrival = list(range(c.n))
    random.Random(f"arrival:{seed}").shuffle(arrival)
    circles = []
    first_week = np.zeros((c.n, c.words), dtype=np.uint64)  # open circles' common start slots
    lang = np.zeros((c.n, c.lang_words.shape[1]), dtype=np.uint64)
    is_open = np.zeros(c.n, dtype=np.bool_)
    counts: list[list[int]] = []  # juniors, seniors, facilitators per circle
    for x in arrival:
        fits = np.flatnonzero(
            is_open[: len(circles)]
            & (first_week[: len(circles)] & c.starts0[x]).any(axis=1)
            & (lang[: len(circles)] & c.lang_words[x]).any(axis=1)
        )
        gx = c.gen_of[x]
        joined = False
        for k in fits.tolist():
            circle = circles[k]
            if not c.feasible_starts(circle.start_int & c.start_int[x]):
                continue
            if not c.forbidden[x].isdisjoint(circle.members):
                continue
            j, s, f = counts[k]
            j, s, f = j + (gx == JUNIOR), s + (gx == SENIOR), f + c.eligible_of[x]
            room = policy.max_size - len(circle.members) - 1  # places left once x joins
            needs = max(0, policy.min_juniors - j) + max(0, policy.min_seniors - s)
            if room < needs or (f == 0 and needs == 0 and room < 1):
                continue  # would leave no room for what the circle still needs
            circle.members.append(x)
            circle.lang &= c.lang_mask[x]
            circle.start_int &= c.start_int[x]
            circle.starts &= c.starts[x]
            counts[k] = [j, s, f]
            first_week[k] = circle.starts[0]
            lang[k] &= c.lang_words[x]
            is_open[k] = len(circle.members) < policy.max_size
            joined = True
            break
        if not joined:
            k = len(circles)
            circle = open_circle(c, [x], next(iter(sorted(c.people[x].languages)), ""))
            circles.append(circle)
            counts.append([int(gx == JUNIOR), int(gx == SENIOR), int(c.eligible_of[x])])
            first_week[k] = circle.starts[0]
            lang[k] = c.lang_words[x]
            is_open[k] = True
    kept = []
    for circle, (j, s, f) in zip(circles, counts, strict=True):
        size = len(circle.members)
        if policy.min_size <= size and j >= policy.min_juniors and s >= policy.min_seniors and f >= 1:
            kept.append(sorted(circle.members))
    return kept, c


# -- figures ----------------------------------------------------------------------------------------


def figures(c: CircleCohort, circles: Sequence[Sequence[int]], total_people: int) -> dict[str, Any]:
    """The same figures for both: placement, mix, skill coverage, spread, the objective."""
    scored = [parts(c, m) for m in circles]
    covered = wishes = cross = 0
    for m, s in zip(circles, scored, strict=True):
        cov, wis = covered_wishes(c, m)
        covered, wishes, cross = covered + cov, wishes + wis, cross + s.juniors * s.seniors
    count = max(len(circles), 1)
    placed = sum(len(m) for m in circles)
    return {
        "circles": len(circles),
        "placed": placed,
        "placed_share": round(placed / total_people, 4),
        "mean_size": round(placed / count, 2),
        "mean_mix": round(sum(s.mix for s in scored) / count, 4),
        "mean_skill_coverage": round(sum(s.skills for s in scored) / count, 4),
        "wishes_covered_share": round(covered / wishes, 4) if wishes else 0.0,
        "mean_department_spread": round(sum(s.department_spread for s in scored) / count, 4),
        "mean_region_spread": round(sum(s.region_spread for s in scored) / count, 4),
        "cross_generation_pairs": cross,
        "cross_generation_pairs_per_circle": round(cross / count, 2),
        "objective": round(sum(s.total for s in scored), 3),
        "objective_per_person": round(
            sum(s.total * len(m) for s, m in zip(scored, circles, strict=True)) / max(placed, 1), 4
        ),
    }


def check(
    people: Sequence[Participant],
    policy: CirclePolicy,
    eligible: frozenset[str],
    circles: Sequence[tuple[Sequence[str], str]],
) -> int:
    """Every circle through the scalar oracle; nobody twice. Returns the number of violations."""
    by_id = {p.id: p for p in people}
    chart = managers(people)
    seen: set[str] = set()
    bad = 0
    for members, facilitator in circles:
        assert not seen & set(members), "someone is in two circles"
        seen |= set(members)
        found = circle_violations(
            [by_id[m] for m in members],
            policy,
            facilitator_id=facilitator,
            facilitator_eligible=eligible,
            manager_of=chart,
        )
        bad += len(found)
    return bad


def result_circles(result: CircleResult) -> list[tuple[tuple[str, ...], str]]:
    return [(c.member_ids, c.facilitator_id) for c in result.circles]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--programme", default="2026-02-02:2026-05-31", help="start:end (ISO dates)")
    ap.add_argument("--no-check", action="store_true", help="skip the oracle re-check of every circle")
    args = ap.parse_args()
    start, end = (date.fromisoformat(x) for x in args.programme.split(":"))
    policy = CirclePolicy(programme_start=start, programme_end=end)
    load_before = os.getloadavg()

    _log(f"generating {args.size:,} people (seed {args.seed})")
    people, eligible = cohort(args.size, args.seed, policy)
    chart = managers(people)
    gens = Counter(policy.generation(p.seniority) for p in people)
    _log(f"generations {dict(gens)}, facilitator-eligible {len(eligible):,}")

    warm, warm_eligible = cohort(300, args.seed + 1, policy)
    form_circles(warm, policy, facilitator_eligible=warm_eligible, manager_of=managers(warm), seed=args.seed)

    walls, cpus = [], []
    result: CircleResult | None = None
    for r in range(args.repeats):
        t, cpu = time.perf_counter(), time.process_time()
        got = form_circles(people, policy, facilitator_eligible=eligible, manager_of=chart, seed=args.seed)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - cpu)
        _log(
            f"engine call {r + 1}: {walls[-1]:.2f} s wall, {cpus[-1]:.2f} s CPU, {len(got.circles):,} circles"
        )
        if result is not None:
            assert got.circles == result.circles, "not deterministic"
            assert got.left_out == result.left_out, "not deterministic"
        result = got
    assert result is not None

    base_walls, base_cpus = [], []
    base: list[list[int]] = []
    for _ in range(args.repeats):
        t, cpu = time.perf_counter(), time.process_time()
        base, prepared = baseline(people, policy, eligible, args.seed)
        base_walls.append(time.perf_counter() - t)
        base_cpus.append(time.process_time() - cpu)
    _log(f"baseline: {statistics.median(base_walls):.2f} s, {len(base):,} circles")

    c = build_cohort(people, policy, facilitator_eligible=eligible, manager_of=chart)
    engine_circles = [sorted(c.pos[m] for m in x.member_ids) for x in result.circles]
    engine = figures(c, engine_circles, len(people))
    naive = figures(prepared, base, len(people))
    engine["median_s"], engine["cpu_median_s"] = (
        round(statistics.median(walls), 3),
        round(statistics.median(cpus), 3),
    )
    naive["median_s"], naive["cpu_median_s"] = (
        round(statistics.median(base_walls), 3),
        round(statistics.median(base_cpus), 3),
    )
    engine["runs_s"] = [round(x, 3) for x in walls]
    stats = result.stats
    engine["stages_s"] = {
        k: round(float(stats[k]), 3) for k in ("prepare_s", "construct_s", "improve_s", "explain_s")
    }
    engine["local_search"] = {"moves": int(stats["local_moves"]), "gain": float(stats["local_gain"])}
    reasons = Counter(x.reason_code for x in result.left_out)
    engine["left_out_reasons"] = dict(reasons.most_common())

    violations: dict[str, int | None] = {"engine": None, "baseline": None}
    if not args.no_check:
        _log("re-checking every circle with the scalar oracle")
        violations["engine"] = check(people, policy, eligible, result_circles(result))
        placed = {m for x in result.circles for m in x.member_ids}
        assert placed | {x.participant_id for x in result.left_out} == {p.id for p in people}
        assert not placed & {x.participant_id for x in result.left_out}
        violations["baseline"] = check(
            people,
            policy,
            eligible,
            [
                (
                    [prepared.people[m].id for m in x],
                    prepared.people[next(m for m in x if prepared.eligible_of[m])].id,
                )
                for x in base
            ],
        )
    load_after = os.getloadavg()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"\nload average {load_before[0]:.2f} before, {load_after[0]:.2f} after; peak RSS {rss:,.0f} MiB")
    print(
        f"{args.size:,} people, programme {start} to {end}, default CirclePolicy, seed {args.seed}, "
        f"medians of {args.repeats}\n"
    )
    rows = [
        ("median s (wall)", "median_s", "{:.2f}"),
        ("median s (CPU)", "cpu_median_s", "{:.2f}"),
        ("circles", "circles", "{:,}"),
        ("share placed", "placed_share", "{:.1%}"),
        ("mean size", "mean_size", "{:.2f}"),
        ("mean mix", "mean_mix", "{:.3f}"),
        ("cross-generation pairs per circle", "cross_generation_pairs_per_circle", "{:.2f}"),
        ("cross-generation pairs in all", "cross_generation_pairs", "{:,}"),
        ("mean skill coverage", "mean_skill_coverage", "{:.3f}"),
        ("learning wishes covered", "wishes_covered_share", "{:.1%}"),
        ("mean department spread", "mean_department_spread", "{:.3f}"),
        ("mean region spread", "mean_region_spread", "{:.3f}"),
        ("objective (sum over circles)", "objective", "{:,.1f}"),
        ("objective per placed person", "objective_per_person", "{:.3f}"),
    ]
    print("| figure | engine | naive baseline |")
    print("|---|---|---|")
    for label, key, fmt in rows:
        print(f"| {label} | {fmt.format(engine[key])} | {fmt.format(naive[key])} |")
    if not args.no_check:
        print(f"| hard-rule violations (oracle) | {violations['engine']} | {violations['baseline']} |")
    print(
        f"\nengine runs {engine['runs_s']} s; stages of the last: {engine['stages_s']}; "
        f"local search {engine['local_search']}; left out by reason {engine['left_out_reasons']}"
    )
    out = {
        "bench": "matching_circles",
        "size": args.size,
        "repeats": args.repeats,
        "seed": args.seed,
        "programme": [start.isoformat(), end.isoformat()],
        "load_before": round(load_before[0], 2),
        "load_after": round(load_after[0], 2),
        "peak_rss_mib": round(rss),
        "target_s": 10.0,
        "met": engine["median_s"] <= 10.0,
        "engine": engine,
        "baseline": naive,
        "violations": violations,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
