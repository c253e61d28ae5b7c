"""Replay throughput: rebuild-by-replay vs raw aiokafka consumption of the same topics, same run.

    .tools/bin/uv run python bench/reporting/replay.py --events 100000 --repeats 3
    .tools/bin/uv run python bench/reporting/replay.py --events 1000000 --repeats 1 --live
    .tools/bin/uv run python bench/reporting/replay.py --events 50000 --repeats 3 --sealed
    .tools/bin/uv run python bench/reporting/replay.py --events 200000 --repeats 3 --workers 2

Starts its own embedded PostgreSQL + Apache Kafka (or uses DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS),
produces `--events` synthetic programme events (bench/reporting/events.py), then per repeat:
  raw  — plain AIOKafkaConsumer reading every event topic from offset 0 to the end (no decoding);
  rebuild — `bridge_reporting.app.rebuild.rebuild()`: read + decode + set-based projection into shadow
           tables + atomic swap.
  rebuild with --workers N — the same, reading and decoding in N worker processes (bench `--workers`).
  decode floor — the rebuild's own reader alone: reading and decoding every event (sealed fields
           opened), no folding and no writes. No write-side work can make the rebuild faster than this.
  decode and fold, no database — the same reader, each batch also folded into its rows as the rebuild
           and the live consumer fold it: the ceiling of both, in one process, if PostgreSQL cost
           nothing (the live consumer also claims its inbox rows and commits offsets).
  workers, no database (with --workers N) — the rebuild's N worker processes reading, decoding and
           folding their shares and handing the rows over to this process, which writes nothing: the
           ceiling of the rebuild with N workers if PostgreSQL cost nothing.
With --live, first (before the rebuilds fill and churn the database), the service's own batch
consumer path, `--repeats` times: a fresh reporting service (new consumer group, inbox and schema)
replays the topics from the start until its inbox holds every event; the figure is its steady state, from its first inbox row to the last (start-up and the
consumer group's join left out, as the sessions benchmark does), and the time from start-up is
printed beside it.
Prints medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg
from common import end_total, infra, median, produce, raw_consume, reporting_settings, wait_stored
from events import Sealer, programme

from bridge_reporting.app.projections import TOPICS
from bridge_reporting.app.rebuild import (
    RebuildResult,
    _next_message,
    _Reader,
    _vault_keys,
    _worker_main,
    plan_shares,
    rebuild,
)
from bridge_reporting.db import shadow
from bridge_reporting.domain.projection import fold
from bridge_reporting.settings import ReportingSettings
from bridge_shared.events.envelope import KeySource
from bridge_shared.events.topics import MATCHING_PRIVACY
from bridge_shared.gc_tuning import tune_gc
from bridge_shared.privacy.sealing import Keys
from bridge_shared.privacy.vault import TABLE as VAULT_TABLE
from bridge_shared.privacy.vault import create_vault


def _every_topic(settings: ReportingSettings, result: RebuildResult, keys_for: KeySource) -> _Reader:
    """The rebuild's reader over every topic it replays."""
    prefix = settings.kafka_topic_prefix
    topics = [prefix + t for t in (*TOPICS, MATCHING_PRIVACY)]
    return _Reader(settings.kafka_bootstrap_servers, topics, result, keys_for, settings, prefix)


async def decode_floor(
    settings: ReportingSettings, batch_size: int, *, folding: bool = False
) -> tuple[int, float]:
    """(records, seconds) for the rebuild's reader alone: read and decode every event, write nothing.
    With `folding`, each batch is also folded into rows (domain/projection.fold), as the rebuild and
    the live consumer fold it: their ceiling in one process if PostgreSQL cost nothing."""
    pool = await shadow.key_pool(settings)
    result = RebuildResult(generation="floor")
    reader = _every_topic(settings, result, _vault_keys(pool))
    t0 = time.perf_counter()
    try:
        await reader.start()
        async for events in reader.batches(await reader.end_offsets(), batch_size):
            if folding:
                fold(events)
    finally:
        await reader.stop()
        await pool.close()
    return result.records, time.perf_counter() - t0


async def workers_floor(settings: ReportingSettings, batch_size: int, workers: int) -> tuple[int, float]:
    """(records, seconds) for the rebuild's worker processes alone: each reads, decodes and folds its
    share of the partitions and hands the folded rows over, as in a rebuild with `workers`, but this
    process only receives them and writes nothing: that rebuild's ceiling if PostgreSQL cost nothing."""
    ctx = multiprocessing.get_context("spawn")
    reader = _every_topic(settings, RebuildResult(generation="floor"), _no_keys)
    t0 = time.perf_counter()
    try:
        await reader.start()
        ends, begins = await reader.end_offsets(), await reader.beginning_offsets()
    finally:
        await reader.stop()
    shares = plan_shares({tp: ends[tp] - begins.get(tp, 0) for tp in ends}, workers)
    inbox = ctx.Queue(maxsize=2 * len(shares))
    procs = [
        ctx.Process(
            target=_worker_main, args=(settings, {tp: ends[tp] for tp in share}, batch_size, inbox, k)
        )
        for k, share in enumerate(shares)
    ]
    for proc in procs:
        proc.start()
    records, waiting = 0, set(range(len(procs)))
    try:
        while waiting:
            msg = await _next_message(inbox, procs, waiting)
            if msg[0] == "done":
                waiting.discard(msg[1])
                records += msg[2].records
            elif msg[0] == "error":
                raise RuntimeError(f"worker {msg[1]} failed:\n{msg[2]}")
    finally:
        for proc in procs:
            proc.join(timeout=30)
    return records, time.perf_counter() - t0


async def _no_keys(subjects: set[str]) -> Keys:
    raise AssertionError("the parent reads offsets only")


async def live_replay(inf, expected: int, timeout: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(steady-state seconds, seconds from start-up): a fresh reporting service consumes every event
    topic from the start. Steady state runs from its first inbox row to the last, scaled to every
    event (start-up, migrations and the consumer group's join left out, as in
    bench/pipeline/sessions_pairs.py); the second figure includes them."""
    from asgi_lifespan import LifespanManager

    from bridge_reporting.main import create_app

    settings = await reporting_settings(inf, db_pool_max=4)  # the consumer's defaults otherwise
    app = create_app(settings)
    t0 = time.perf_counter()
    first: float | None = None
    first_count = 0
    n = 0
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=30):
        pool = app.state.runtime.pool
        while time.perf_counter() - t0 < timeout:
            async with pool.acquire() as conn:
                n = await conn.fetchval("SELECT count(*) FROM inbox")
            now = time.perf_counter()
            if n and first is None:
                first, first_count = now, n
            if n >= expected:
                assert first is not None
                return (now - first) * expected / max(expected - first_count, 1), now - t0
            # count(*) of a growing inbox loads the database the service writes to: poll finely only
            # near the two ends that are timed.
            await asyncio.sleep(0.05 if n == 0 or n >= expected * 0.9 else 0.5)
    raise TimeoutError(f"live replay did not finish in {timeout}s ({n}/{expected})")


async def store_keys(admin_dsn: str, keys: dict[str, bytes]) -> None:
    """Puts the people's keys in the key vault, as the producers' outboxes would have."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await create_vault(conn)
        await conn.execute(
            f"""INSERT INTO {VAULT_TABLE} (subject, key) SELECT * FROM unnest($1::text[], $2::bytea[])
                ON CONFLICT (subject) DO NOTHING""",
            list(keys),
            list(keys.values()),
        )
    finally:
        await conn.close()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="also time the rebuild with this many reading and decoding worker processes (> 1)",
    )
    ap.add_argument("--live", action="store_true", help="also time the live batch consumer's replay")
    ap.add_argument("--json", type=Path, help="write the results here too")
    ap.add_argument(
        "--sealed",
        action="store_true",
        help="write the v2 (sealed) types, as the producers do since issue 14, with every person's key "
        "in the key vault: the rebuild opens every personal field",
    )
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bridge-bench-") as tmp:
        inf = infra(Path(tmp))
        try:
            print(f"infrastructure: {inf.description}", flush=True)
            run = f"b{int(time.time())}"
            before = await end_total(inf.bootstrap_servers)
            sealer = Sealer() if args.sealed else None
            n, secs = await produce(inf.bootstrap_servers, programme(args.events, run=run, sealer=sealer))
            if sealer is not None:
                await store_keys(inf.admin_dsn, sealer.keys)
                print(f"sealed: {len(sealer.keys)} people's keys in the key vault", flush=True)
            stored = await wait_stored(inf.bootstrap_servers, before + n) - before
            print(
                f"produced {n} events in {secs:.1f}s ({n / secs:.0f}/s); the broker stored {stored}",
                flush=True,
            )
            settings = await reporting_settings(inf)
            tune_gc(settings.gc_young_threshold)  # every path measured below as the service's process has it
            # The live path first, on a database the rebuilds below have not yet filled and churned.
            live_figures: dict[str, float] = {}
            if args.live:
                steady_rates: list[float] = []
                whole_secs: list[float] = []
                for i in range(args.repeats):
                    steady, whole = await live_replay(inf, stored, timeout=3600)
                    steady_rates.append(stored / steady)
                    whole_secs.append(whole)
                    print(
                        f"  live {i + 1}/{args.repeats}: {stored / steady:,.0f} ev/s steady "
                        f"({whole:.1f} s from start-up, {stored / whole:,.0f} ev/s)",
                        flush=True,
                    )
                print(f"live batch consumer median: {median(steady_rates):,.0f} ev/s steady", flush=True)
                live_figures["live_batch_replay_seconds"] = round(median(whole_secs), 1)
                live_figures["live_batch_replay_events_per_s"] = round(median(steady_rates))
                live_figures["live_batch_replay_from_startup_events_per_s"] = round(
                    stored / median(whole_secs)
                )
            raw_rates, rebuild_rates, rebuild_secs, floor_rates, worker_rates = [], [], [], [], []
            fold_rates: list[float] = []
            worker_floor_rates: list[float] = []
            for i in range(args.repeats):
                got, t = await raw_consume(inf.bootstrap_servers)
                raw_rates.append(got / t)
                decoded, t_floor = await decode_floor(settings, args.batch_size)
                floor_rates.append(decoded / t_floor)
                folded, t_fold = await decode_floor(settings, args.batch_size, folding=True)
                fold_rates.append(folded / t_fold)
                res = await rebuild(settings, batch_size=args.batch_size)
                rebuild_rates.append(res.records / res.seconds)
                rebuild_secs.append(res.seconds)
                print(
                    f"  repeat {i + 1}: raw consume {got} in {t:.1f}s ({got / t:.0f}/s); "
                    f"decode floor {decoded / t_floor:.0f}/s; "
                    f"decode and fold, no database {folded / t_fold:.0f}/s; "
                    f"rebuild {res.records} in {res.seconds:.1f}s ({res.events_per_second:.0f}/s, "
                    f"swap {res.swap_seconds * 1000:.0f} ms); rows {sum(res.rows.values())}",
                    flush=True,
                )
                if args.workers > 1:
                    got_w, t_w = await workers_floor(settings, args.batch_size, args.workers)
                    worker_floor_rates.append(got_w / t_w)
                    print(
                        f"    {args.workers} workers reading, decoding and folding, no database: "
                        f"{got_w / t_w:.0f}/s",
                        flush=True,
                    )
                    par = await rebuild(settings, batch_size=args.batch_size, workers=args.workers)
                    worker_rates.append(par.events_per_second)
                    print(
                        f"    with {args.workers} workers: {par.records} in {par.seconds:.1f}s "
                        f"({par.events_per_second:.0f}/s); rows {sum(par.rows.values())}",
                        flush=True,
                    )
            result = {
                "sealed": args.sealed,
                "events_produced": n,
                "events_stored": stored,
                "raw_consume_events_per_s_median": round(median(raw_rates)),
                "rebuild_events_per_s_median": round(median(rebuild_rates)),
                "rebuild_seconds_median": round(median(rebuild_secs), 1),
                "rebuild_vs_raw": round(median(rebuild_rates) / median(raw_rates), 3),
                "decode_floor_events_per_s_median": round(median(floor_rates)),
                "decode_fold_floor_events_per_s_median": round(median(fold_rates)),
            }
            if worker_rates:
                result["workers"] = args.workers
                result["rebuild_workers_events_per_s_median"] = round(median(worker_rates))
                result["workers_floor_events_per_s_median"] = round(median(worker_floor_rates))
                result["rebuild_workers_seconds_per_million"] = round(1e6 / median(worker_rates), 1)
            result.update(live_figures)
            print(json.dumps(result))  # one JSON line, last
            if args.json:
                args.json.write_text(json.dumps(result, indent=2) + "\n")
        finally:
            inf.stop()


if __name__ == "__main__":
    asyncio.run(main())
