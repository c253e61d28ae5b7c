"""`make bench-pipeline`: every event-pipeline benchmark of issue 11, each in its own process with its
own PostgreSQL and Kafka, then one table: work, figure, raw baseline of the same run, ratio, target.

    .tools/bin/uv run python bench/pipeline/run_all.py [--quick]

`--quick` runs smaller workloads (a smoke run: the figures are not the targets' workloads). Each
benchmark's full output goes to stdout as it runs; the table and one JSON line of every figure come
last. A benchmark that fails is reported as such and the others still run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1]
PY = sys.executable


@dataclass(frozen=True)
class Bench:
    name: str
    args: list[str]
    quick: list[str]


BENCHES = [
    Bench(
        "decode_costs",
        ["pipeline/decode_costs.py", "--events", "20000", "--repeats", "5"],
        ["pipeline/decode_costs.py", "--events", "2000", "--repeats", "1"],
    ),
    Bench(
        "sessions_pairs",
        ["pipeline/sessions_pairs.py", "--events", "20000", "--repeats", "3"],
        ["pipeline/sessions_pairs.py", "--events", "2000", "--repeats", "1"],
    ),
    Bench(
        "reporting_replay",
        ["reporting/replay.py", "--events", "200000", "--repeats", "3", "--live", "--workers", "2"],
        ["reporting/replay.py", "--events", "5000", "--repeats", "1", "--live", "--workers", "2"],
    ),
    Bench(
        "reporting_rebuild_1m",
        ["reporting/replay.py", "--events", "1000000", "--repeats", "1", "--workers", "2"],
        ["reporting/replay.py", "--events", "5000", "--repeats", "1", "--workers", "2"],
    ),
    Bench(
        "outbox",
        ["outbox/run.py", "--events", "20000", "--repeats", "3"],
        ["outbox/run.py", "--events", "2000", "--repeats", "1"],
    ),
    Bench(
        "freshness",
        ["reporting/freshness.py", "--probes", "200", "--load-rate", "200"],
        ["reporting/freshness.py", "--probes", "20", "--load-rate", "50"],
    ),
    Bench(
        "import",
        ["matching/import_bench.py", "--rows", "50000", "--repeats", "3"],
        ["matching/import_bench.py", "--rows", "2000", "--repeats", "1"],
    ),
    Bench(
        "matching_e2e",
        ["matching/end_to_end.py", "--size", "50000", "--repeats", "2"],
        ["matching/end_to_end.py", "--size", "2000", "--repeats", "1"],
    ),
]


def run(bench: Bench, quick: bool) -> dict[str, Any] | None:
    args = bench.quick if quick else bench.args
    command = [PY, str(BENCH / args[0]), *args[1:]]
    print(f"\n=== {bench.name}: {' '.join(['python', 'bench/' + args[0], *args[1:]])}", flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    sys.stdout.write(done.stdout)
    if done.returncode != 0:
        sys.stdout.write(done.stderr[-3000:])
        print(f"=== {bench.name} FAILED (exit {done.returncode})", flush=True)
        return None
    last = done.stdout.strip().splitlines()[-1]
    figures: dict[str, Any] = json.loads(last)
    return figures


def rows(results: dict[str, dict[str, Any] | None]) -> list[tuple[str, str, str, str, str, str]]:
    """(work, figure, raw baseline, ratio, target, met) per measured target."""
    out: list[tuple[str, str, str, str, str, str]] = []

    def rate(v: float) -> str:
        return f"{v:,.0f} ev/s"

    def throughput(work: str, fig: float, raw: float, floor: float) -> None:
        """A rate beside its raw baseline, against an absolute floor in events/s."""
        met = "yes" if fig >= floor else "no"
        out.append((work, rate(fig), rate(raw), f"{fig / raw:.3f}", f">= {floor:,.0f} ev/s", met))

    def ceiling(work: str, figures: dict[str, Any], raw: float, key: str = "decode_floor") -> None:
        """Not a target: a path's work without PostgreSQL, the ceiling of what the database side of
        it can reach however cheap that side gets."""
        fig = figures[f"{key}_events_per_s_median"]
        out.append((work, rate(fig), rate(raw), f"{fig / raw:.3f}", "-", "-"))

    d = results.get("decode_costs")
    if d:
        # Not targets: the per-event work itself, in memory on one core, everything else free.
        for work, key, raw_key in (
            (
                "(sessions: decoding a sealed pair.formed in memory, one core)",
                "sessions_decode",
                "sessions_raw_parse",
            ),
            (
                "(reporting: decoding and folding in memory, one core)",
                "reporting_decode_fold",
                "reporting_raw_parse",
            ),
        ):
            us = (
                d[f"{key}_us"]
                if key != "reporting_decode_fold"
                else d["reporting_decode_us"] + d["reporting_fold_us"]
            )
            out.append(
                (
                    work,
                    f"{us:.1f} us/event = {1e6 / us:,.0f} ev/s",
                    f"{d[f'{raw_key}_us']:.1f} us (JSON parse)",
                    f"{us / d[f'{raw_key}_us']:.1f}x",
                    "-",
                    "-",
                )
            )
    s = results.get("sessions_pairs")
    if s:
        fig, raw = s["sessions_steady_events_per_s_median"], s["raw_events_per_s_median"]
        throughput("sessions pair.formed into PostgreSQL, exactly once", fig, raw, 20_000)
        if "decode_floor_events_per_s_median" in s:
            ceiling("(sessions: reading and decoding pair.formed alone, no database)", s, raw)
    r = results.get("reporting_replay")
    if r:
        fig, raw = r["rebuild_events_per_s_median"], r["raw_consume_events_per_s_median"]
        throughput("reporting rebuild, one process", fig, raw, 50_000)
        how = "one process"
        if "rebuild_workers_events_per_s_median" in r:
            how = f"{r['workers']} worker processes"
            fig = r["rebuild_workers_events_per_s_median"]
            throughput(f"reporting rebuild, {how}", fig, raw, 50_000)
        big = results.get("reporting_rebuild_1m")
        if big and "rebuild_workers_events_per_s_median" in big:
            # Measured whole: the rebuild of 1M events with the workers, one run.
            events = big["events_stored"]
            secs = events / big["rebuild_workers_events_per_s_median"]
            work = f"reporting rebuild of {events:,} events ({big['workers']} worker processes, one run)"
            raw_1m = f"{events / big['raw_consume_events_per_s_median']:.1f} s (read)"
            met = "yes" if secs < 60 and events >= 1_000_000 else "no"
            out.append((work, f"{secs:.1f} s", raw_1m, "-", "< 60 s for 1M", met))
        else:
            million = 1_000_000 / fig
            met = "yes" if million < 60 else "no"
            out.append(
                (
                    f"reporting rebuild of 1M events ({how}, from the rate)",
                    f"{million:.0f} s",
                    "-",
                    "-",
                    "< 60 s",
                    met,
                )
            )
        if "decode_floor_events_per_s_median" in r:
            ceiling("(rebuild: reading and decoding alone, one process)", r, raw)
        if "decode_fold_floor_events_per_s_median" in r:
            ceiling(
                "(rebuild and live path: reading, decoding and folding, one process, no database)",
                r,
                raw,
                "decode_fold_floor",
            )
        if "workers_floor_events_per_s_median" in r:
            ceiling(
                f"(rebuild: {r['workers']} worker processes reading, decoding and folding, no database)",
                r,
                raw,
                "workers_floor",
            )
        if "live_batch_replay_events_per_s" in r:
            throughput(
                "reporting live path (batch consumer, steady state)",
                r["live_batch_replay_events_per_s"],
                raw,
                20_000,
            )
    o = results.get("outbox")
    if o:
        fig, raw = o["relay_events_per_s"], o["raw_events_per_s"]
        met = "yes" if fig / raw >= 0.5 else "no"
        out.append(
            (
                "outbox relay as a service builds it",
                rate(fig),
                rate(raw),
                f"{fig / raw:.3f}",
                ">= 0.5x raw",
                met,
            )
        )
    f = results.get("freshness")
    if f:
        p95 = f["p95_ms"]
        out.append(
            (
                "freshness p95 under the demo load",
                f"{p95:.0f} ms",
                "-",
                "-",
                "<= 250 ms, then <= 100 ms",
                "yes" if p95 <= 100 else ("250 ms yes, 100 ms no" if p95 <= 250 else "no"),
            )
        )
    i = results.get("import")
    if i:
        fig, raw = i["service import"]["median_s"], i["raw COPY"]["median_s"]
        out.append(
            (
                f"HRIS import of {i['rows']:,} rows with events",
                f"{fig:.2f} s",
                f"{raw:.2f} s (COPY)",
                f"{fig / raw:.1f}x",
                "<= 5x raw COPY",
                "yes" if fig / raw <= 5 else "no",
            )
        )
        mem = i.get("in memory (parse, validate, build events)")
        if mem:
            # Not a target: the import's own work without PostgreSQL, its ceiling.
            out.append(
                (
                    "(import: parsing, validating and building the events alone, no database)",
                    f"{mem['median_s']:.2f} s",
                    f"{raw:.2f} s (COPY)",
                    f"{mem['median_s'] / raw:.1f}x",
                    "-",
                    "-",
                )
            )
    e = results.get("matching_e2e")
    if e:
        ratio = e["end_to_end_vs_engine"]
        out.append(
            (
                f"matching end to end at {e['size'] // 1000}k (load, solve, store the draft)",
                f"{e['end_to_end_s_median']:.2f} s",
                f"{e['engine_s_median']:.2f} s (engine)",
                f"{ratio:.2f}x",
                "<= 2x the engine",
                "yes" if ratio <= 2 else "no",
            )
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", help="comma-separated benchmark names")
    args = ap.parse_args()
    wanted = set(args.only.split(",")) if args.only else None
    results = {b.name: run(b, args.quick) for b in BENCHES if wanted is None or b.name in wanted}
    print("\n| work | figure | raw baseline (same run) | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for row in rows(results):
        print("| " + " | ".join(row) + " |")
    failed = [name for name, r in results.items() if r is None]
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    print(json.dumps({"bench": "pipeline", "quick": args.quick, "results": results}))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
