"""HRIS import benchmark: the service's whole import path vs raw asyncpg COPY of the same rows.

    .tools/bin/uv run python bench/matching/import_bench.py [--rows 50000] [--repeats 3]

Uses DATABASE_URL (an admin DSN) if set, otherwise starts the embedded PostgreSQL used by the tests.
Each repeat, in the same run and on the same database:
  service import  the import job as the service runs it (`app.imports.execute`: claim the job's lease,
                  read the stored CSV, parse + per-row validation (pydantic, BCP 47 languages) in a
                  worker thread, management-chain resolution, erasure-ledger check, COPY into a staging
                  table, one set-based upsert, one enrolled event per row written with
                  `Outbox.add_many`, job row + report). Into a fresh cohort (all rows inserted).
                  Storing the upload as a queued job (`import_jobs.create`) is not timed.
  re-import       the same file again into that cohort (idempotent: nothing changes, no events).
  raw COPY        `copy_records_to_table` of the already-parsed rows into a plain table with the same
                  columns (no validation, no upsert, no events): the floor for moving the bytes.
  in memory       the import's own work without PostgreSQL: parsing and validating the file
                  (`parse_csv`) and building each row's sealed enrolled event (`participant_event`,
                  `build_event` with every person's key at hand), as the import does them; nothing
                  written. The ceiling of the service import however cheap its database side gets.
Reports medians and ends with one JSON line of the figures.
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

from population import generate

from bridge_matching.app.imports import execute as run_import
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.db import import_jobs, participants
from bridge_matching.db.participants import STAGING_COLUMNS as _STAGING_COLS
from bridge_matching.db.participants import staging_record as _record
from bridge_matching.domain.csv_import import parse_csv, to_csv
from bridge_matching.domain.events import participant_event, participant_subject
from bridge_matching.settings import MatchingSettings
from bridge_shared.db.migrations import migrate
from bridge_shared.db.pool import create_pool
from bridge_shared.db.provision import provision
from bridge_shared.events.envelope import build_event
from bridge_shared.gc_tuning import tune_gc
from bridge_shared.outbox.writer import Outbox
from bridge_shared.privacy.sealing import new_key
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import SystemClock


def hris_rows(n: int) -> list[dict[str, Any]]:
    out = []
    for p in generate(n).participants:
        windows = []
        for w in p.availability:
            end = w.end if w.end > w.start else "24:00"
            windows.append({"weekday": w.weekday, "start": w.start, "end": end})
        out.append(
            {
                "employee_id": p.id,
                "role": p.role,
                "display_name": f"Employee {p.id}",
                "email": f"{p.id.lower()}@corp.example",
                "seniority_level": min(p.seniority + 1, 15),
                "department": p.department,
                "manager_employee_id": p.manager_id or "",
                "region": p.region,
                "languages": sorted(p.languages),
                "timezone": p.time_zone,
                "locale": "en",
                "availability": windows,
                "skills_to_share": sorted(p.skills_to_share),
                "skills_to_learn": sorted(p.skills_to_learn),
                "meeting_preference": "either",
                "capacity": max(1, min(p.capacity, 10)),
                "requested_partners": sorted(p.requested_partner_ids),
                "blocked_partners": sorted(p.blocked_partner_ids),
            }
        )
    return out


async def bench(admin_dsn: str, rows: int, repeats: int) -> None:
    name = f"bench_import_{uuid.uuid4().hex[:6]}"
    dsn = await provision(admin_dsn, name, secrets.token_hex(8))
    pool = await create_pool(dsn, schema=name, min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn, name, "bridge_matching.db.migrations")
        await conn.execute(
            """CREATE TABLE raw_copy (employee_id text, role text, display_name text, email text,
               seniority_level integer, department text, manager_employee_id text, region text, languages text[],
               timezone text, locale text, availability text, skills_to_share text[], skills_to_learn text[],
               meeting_preference text, capacity integer, requested_partners text[], blocked_partners text[],
               facilitator_eligible boolean)"""
        )
    t = time.perf_counter()
    text = to_csv(hris_rows(rows))
    print(f"generated {rows:,} rows ({len(text) / 1e6:.1f} MB CSV) in {time.perf_counter() - t:.1f}s")
    parsed = parse_csv(text, cohort_regions=["EMEA", "AMER", "APAC"])
    assert not parsed.rejected, parsed.rejected[:3]
    records = [_record(p) for _, p in parsed.accepted]
    outbox = Outbox(schema=name, source=f"/bridge/{name}")
    clock = SystemClock()
    settings = MatchingSettings(environment="development", database_url=dsn, db_schema=name)
    tune_gc(settings.gc_young_threshold)  # as the service's process has it once started
    # The import job uses the pool, the outbox, the clock and the settings; the broker is never started
    # (events stay in the outbox: no relay here).
    rt: MatchingRuntime = Runtime(
        settings=settings, broker=KafkaBroker(), outbox=outbox, _pool=pool, clock=clock
    )
    results: dict[str, list[float]] = {
        "service import": [],
        "re-import (no changes)": [],
        "raw COPY": [],
        "in memory (parse, validate, build events)": [],
    }
    for i in range(repeats):
        cohort_id = uuid.uuid4()
        await pool.execute(
            "INSERT INTO cohorts (id, name, regions, hr_contact_email, created_by, phase) "
            "VALUES ($1, $2, $3, 'hr@corp.example', 'bench', 'enrolling')",
            cohort_id,
            f"bench {i}",
            ["EMEA", "AMER", "APAC"],
        )
        for label in ("service import", "re-import (no changes)"):
            async with pool.acquire() as conn:
                job_id = (await import_jobs.create(conn, cohort_id, "bench", clock.now(), text)).id
            t = time.perf_counter()
            await run_import(rt, job_id, "bench")
            results[label].append(time.perf_counter() - t)
            async with pool.acquire() as conn:
                job = await import_jobs.get(conn, job_id)
            assert job is not None
            assert job.status == "completed", (job.status, job.error)
            rep = job.report
            assert rep is not None
            print(
                f"  repeat {i + 1} {label}: {results[label][-1]:.2f}s "
                f"(inserted {rep['inserted']:,}, updated {rep['updated']:,}, unchanged {rep['unchanged']:,})",
                flush=True,
            )
        async with pool.acquire() as conn:
            await conn.execute("TRUNCATE raw_copy")
            t = time.perf_counter()
            await conn.copy_records_to_table("raw_copy", records=records, columns=list(_STAGING_COLS))
            results["raw COPY"].append(time.perf_counter() - t)
        print(f"  repeat {i + 1} raw COPY: {results['raw COPY'][-1]:.2f}s", flush=True)
        async with pool.acquire() as conn:
            stored = await participants.enrolled(conn, cohort_id)
        keys = {str(row.id): new_key() for row in stored}
        t = time.perf_counter()
        in_memory = parse_csv(text, cohort_regions=["EMEA", "AMER", "APAC"])
        built = [
            build_event(
                participant_event(row, inserted=True, trusted=True),
                source=outbox.source,
                subject=participant_subject(row),
                time=clock.now(),
                keys=keys,
            )
            for row in stored
        ]
        results["in memory (parse, validate, build events)"].append(time.perf_counter() - t)
        assert len(in_memory.accepted) == len(built) == rows, (len(in_memory.accepted), len(built))
        print(
            f"  repeat {i + 1} in memory: {results['in memory (parse, validate, build events)'][-1]:.2f}s",
            flush=True,
        )
        await pool.execute("DELETE FROM outbox")  # no relay here; keep the table from growing between repeats
    raw = statistics.median(results["raw COPY"])
    print(f"\n{rows:,} rows, medians of {repeats} (same run, same database):\n")
    print("| path | median s | rows/s | x raw COPY |")
    print("|---|---|---|---|")
    figures: dict[str, Any] = {"bench": "matching_import", "rows": rows, "repeats": repeats}
    for label, values in results.items():
        med = statistics.median(values)
        print(f"| {label} | {med:.2f} | {rows / med:,.0f} | {med / raw:.1f}x |")
        figures[label] = {"median_s": round(med, 3), "runs_s": [round(v, 3) for v in values]}
    await pool.close()
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    admin = os.environ.get("DATABASE_URL")
    if admin:
        asyncio.run(bench(admin, args.rows, args.repeats))
        return
    from bridge_devstack.infra import start_infra

    with tempfile.TemporaryDirectory() as tmp:
        infra = start_infra(Path(tmp), fast=True, kafka_quick_start=False)
        try:
            asyncio.run(bench(infra.admin_dsn, args.rows, args.repeats))
        finally:
            infra.stop()


if __name__ == "__main__":
    main()
