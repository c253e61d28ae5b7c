"""Matching end to end: a run as the service executes it, beside the engine's own time in the same run.

    .tools/bin/uv run python bench/matching/end_to_end.py [--size 50000] [--repeats 2]

Uses DATABASE_URL (an admin DSN) if set, otherwise starts the embedded PostgreSQL used by the tests.
Imports `--size` people (bench/matching/population.py, the same population as bench/matching/run.py)
into a cohort through the service's HRIS import job (not timed), moves the cohort to `matching`, then
`--repeats` times:

  end to end  `app.runs.execute` as the run job calls it: claim the run's lease, load the cohort from
              PostgreSQL (`app.state.load_state`), solve (the engine, in a worker thread), build the
              statistics, unmatched list and draft rows, and store the draft in one transaction.
  engine      `domain.matching.solve` alone on the state the run loaded (load not timed): the engine's
              own time, the baseline the target is stated against (issue 11: end to end <= 2x it).
  load        `load_state` alone, for the breakdown.

Prints medians and ends with one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from faststream.kafka import KafkaBroker

sys.path.insert(0, str(Path(__file__).resolve().parent))

from import_bench import hris_rows

from bridge_matching.app.imports import execute as run_import
from bridge_matching.app.runs import execute as run_matching
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.app.state import load_state
from bridge_matching.db import cohorts, import_jobs, runs
from bridge_matching.domain import matching
from bridge_matching.domain.csv_import import to_csv
from bridge_matching.settings import MatchingSettings
from bridge_shared.db.migrations import migrate
from bridge_shared.db.pool import create_pool
from bridge_shared.db.provision import provision
from bridge_shared.gc_tuning import tune_gc
from bridge_shared.outbox.writer import Outbox
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import SystemClock


async def bench(admin_dsn: str, size: int, repeats: int) -> dict[str, Any]:
    name = f"bench_e2e_{uuid.uuid4().hex[:6]}"
    dsn = await provision(admin_dsn, name, secrets.token_hex(8))
    pool = await create_pool(dsn, schema=name, min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn, name, "bridge_matching.db.migrations")
    clock = SystemClock()
    settings = MatchingSettings(environment="development", database_url=dsn, db_schema=name)
    tune_gc(settings.gc_young_threshold)  # as the service's process has it once started
    # The run job uses the pool, the outbox, the clock and the settings; the broker is never started.
    rt: MatchingRuntime = Runtime(
        settings=settings,
        broker=KafkaBroker(),
        outbox=Outbox(schema=name, source=f"/bridge/{name}"),
        _pool=pool,
        clock=clock,
    )
    cohort_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO cohorts (id, name, regions, hr_contact_email, created_by, phase) "
        "VALUES ($1, 'bench', $2, 'hr@corp.example', 'bench', 'enrolling')",
        cohort_id,
        ["EMEA", "AMER", "APAC"],
    )
    t = time.perf_counter()
    async with pool.acquire() as conn:
        job_id = (await import_jobs.create(conn, cohort_id, "bench", clock.now(), to_csv(hris_rows(size)))).id
    await run_import(rt, job_id, "bench")
    async with pool.acquire() as conn:
        job = await import_jobs.get(conn, job_id)
        if job is None or job.status != "completed":
            raise SystemExit(f"the import did not complete: {job}")
        await conn.execute("UPDATE cohorts SET phase = 'matching' WHERE id = $1", cohort_id)
        await conn.execute("DELETE FROM outbox")  # no relay here
    print(f"imported {size:,} people in {time.perf_counter() - t:.1f}s", flush=True)

    e2e: list[float] = []
    engine: list[float] = []
    load: list[float] = []
    pairs = 0
    for i in range(repeats):
        async with pool.acquire() as conn:
            run = await runs.create(conn, cohort_id, "bench", clock.now())
        t = time.perf_counter()
        await run_matching(rt, run.id, "bench")
        e2e.append(time.perf_counter() - t)
        async with pool.acquire() as conn:
            done = await runs.get(conn, run.id)
            if done is None or done.status != "draft":  # a finished run is a draft for HR to review
                raise SystemExit(
                    f"the run did not finish: {done.status if done else None} {done.error if done else ''}"
                )
            pairs = await conn.fetchval("SELECT count(*) FROM draft_pairs WHERE run_id = $1", run.id)
            cohort = await cohorts.get(conn, cohort_id)
            assert cohort is not None
            t = time.perf_counter()
            state = await load_state(conn, cohort)
            load.append(time.perf_counter() - t)
        t = time.perf_counter()
        result = await asyncio.to_thread(matching.solve, state, (), ())
        engine.append(time.perf_counter() - t)
        del result, state
        print(
            f"  repeat {i + 1}: end to end {e2e[-1]:.2f}s, engine {engine[-1]:.2f}s, load {load[-1]:.2f}s "
            f"({pairs:,} draft pairs)",
            flush=True,
        )
    await pool.close()
    med_e2e, med_engine, med_load = statistics.median(e2e), statistics.median(engine), statistics.median(load)
    print(f"\n{size:,} people, medians of {repeats} (same run, same database):\n")
    print("| path | median s | x engine |")
    print("|---|---|---|")
    print(
        f"| matching run end to end (load, solve, store the draft) | {med_e2e:.2f} | {med_e2e / med_engine:.2f}x |"
    )
    print(f"| engine alone (baseline) | {med_engine:.2f} | 1.00x |")
    print(f"| loading the cohort from PostgreSQL | {med_load:.2f} | {med_load / med_engine:.2f}x |")
    return {
        "bench": "matching_end_to_end",
        "size": size,
        "repeats": repeats,
        "draft_pairs": pairs,
        "end_to_end_s_median": round(med_e2e, 3),
        "engine_s_median": round(med_engine, 3),
        "load_s_median": round(med_load, 3),
        "end_to_end_vs_engine": round(med_e2e / med_engine, 3),
        "runs": {"end_to_end": [round(v, 3) for v in e2e], "engine": [round(v, 3) for v in engine]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    admin = os.environ.get("DATABASE_URL")
    if admin:
        figures = asyncio.run(bench(admin, args.size, args.repeats))
    else:
        from bridge_devstack.infra import start_infra

        with tempfile.TemporaryDirectory() as tmp:
            infra = start_infra(Path(tmp), fast=True, kafka_quick_start=False)
            try:
                figures = asyncio.run(bench(infra.admin_dsn, args.size, args.repeats))
            finally:
                infra.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
