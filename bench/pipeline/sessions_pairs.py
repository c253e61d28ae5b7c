"""Consumption into PostgreSQL with exactly-once effects: sessions' pair.formed path, per service
instance, beside raw aiokafka consumption of the same records in the same run.

    .tools/bin/uv run python bench/pipeline/sessions_pairs.py [--events 20000] [--repeats 3] [--v1]

Starts its own embedded PostgreSQL + Apache Kafka (bench/reporting/common.py), produces `--events`
pair.formed events of distinct pairs to `bridge.matching.pair` as matching's relay would (v2, personal
fields sealed under each person's key, the keys put in the key vault first; `--v1` for the unsealed
type), then `--repeats` times each (raw first):

  raw      plain AIOKafkaConsumer reading the topic from offset 0 to the end, no decoding: the floor;
  decode   reading and decoding the same records, sealed fields opened (keys cached after the key
           vault's first answer), writing nothing: the shared envelope code every consumer decodes
           with, run by the reporting rebuild's reader (bench/reporting/replay.py). The ceiling of
           this path in one process if PostgreSQL, the inbox and the relay cost nothing;
  sessions a fresh sessions service (its own schema, so its own consumer group and inbox; default
           settings, in this process with its lifespan) consuming the topic from the start: decoding
           (sealed fields opened with keys from the vault), the inbox claim, the relationship rows
           and one relationship.started per pair in the outbox, in the consumer's transactions.
           Timed from its first relationship row to its last (steady state: the consumer group's
           join is left out), and from the service being up to the last row.

Prints medians and ends with one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reporting"))

from common import SECURITY, infra, produce, raw_consume, reporting_settings, wait_stored
from events import EXPL, Sealer
from replay import decode_floor, store_keys

from bridge_sessions.main import create_app
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts import matching as m
from bridge_shared.db.provision import provision
from bridge_shared.events.envelope import OutgoingEvent, build_event
from bridge_shared.gc_tuning import tune_gc
from bridge_shared.messaging.sources import owner_source

FORMED = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def pair_events(n: int, run: str, sealer: Sealer | None) -> list[OutgoingEvent]:
    out: list[OutgoingEvent] = []
    for k in range(n):
        people = [
            m.ParticipantRef(
                participant_id=f"{run}-{role}{k}",
                employee_id=f"E-{run}-{role}{k}",
                display_name=f"Person {role}{k}",
                email=f"{role}{k}.{run}@bridge.example",
                region=("emea", "amer", "apac")[k % 3],
                department="Engineering",
                seniority_level=level,
                timezone="Europe/Berlin",
            )
            for role, level in (("m", 3), ("l", 10))
        ]
        payload = m.PairFormedV1(
            pair_id=f"{run}-pair{k}",
            cohort_id=f"{run}-cohort{k // 500}",
            mentor=people[0],
            mentee=people[1],
            explanation=EXPL,
            formed_at=FORMED,
            hr_contact_email="hr@bridge.example",
        )
        event_id = f"{run}-{k}"
        if sealer is not None:
            out.append(sealer.build(payload, FORMED, event_id))
        else:
            out.append(
                build_event(payload, source=owner_source(payload.topic), time=FORMED, event_id=event_id)
            )
    return out


async def sessions_run(admin_dsn: str, bootstrap: str, expected: int, timeout: float) -> tuple[float, float]:
    """(steady-state seconds from the first relationship to the last, seconds from ready to the last)."""
    from asgi_lifespan import LifespanManager

    name = f"sessions_bench_{uuid.uuid4().hex[:6]}"
    dsn = await provision(admin_dsn, name, secrets.token_hex(8))
    settings = SessionsSettings(
        service_name=name,
        db_schema=name,
        database_url=dsn,
        kafka_bootstrap_servers=bootstrap,
        environment="test",
        log_json=False,
        log_level="WARNING",
        **SECURITY.model_dump(),
    )
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=30):
        pool = app.state.runtime.pool
        ready = time.perf_counter()
        first: float | None = None
        first_count = 0
        n = 0
        while time.perf_counter() - ready < timeout:
            async with pool.acquire() as conn:
                n = await conn.fetchval("SELECT count(*) FROM relationships")
            now = time.perf_counter()
            if n and first is None:
                first, first_count = now, n
            if n >= expected:
                assert first is not None
                steady = (now - first) * expected / max(expected - first_count, 1)
                return steady, now - ready
            await asyncio.sleep(0.05)
    raise TimeoutError(f"sessions did not open every relationship in {timeout}s ({n}/{expected})")


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--v1", action="store_true", help="the unsealed v1 type instead of v2")
    ap.add_argument("--timeout", type=float, default=900.0)
    args = ap.parse_args()
    tune_gc()  # raw and sessions alike, as the service's process has it once started
    with tempfile.TemporaryDirectory() as tmp:
        inf = infra(Path(tmp))
        try:
            run = f"b{uuid.uuid4().hex[:6]}"
            sealer = None if args.v1 else Sealer()
            events = pair_events(args.events, run, sealer)
            if sealer is not None:
                await store_keys(inf.admin_dsn, sealer.keys)
            n, secs = await produce(inf.bootstrap_servers, events)
            stored = await wait_stored(inf.bootstrap_servers, n)
            print(
                f"produced {n} pair.formed ({'v1' if args.v1 else 'v2, sealed'}) in {secs:.1f}s; stored {stored}"
            )
            raw_rates: list[float] = []
            steady_rates: list[float] = []
            ready_rates: list[float] = []
            # Raw first: the sessions runs write relationship.started to another topic of the cluster.
            for i in range(args.repeats):
                got, t = await raw_consume(inf.bootstrap_servers)
                raw_rates.append(got / t)
                print(f"  raw {i + 1}: {got} records in {t:.2f}s ({got / t:,.0f}/s)", flush=True)
            floor_rates: list[float] = []
            reader_settings = await reporting_settings(inf)
            for i in range(args.repeats):
                decoded, t = await decode_floor(reader_settings, 5000)
                floor_rates.append(decoded / t)
                print(f"  decode {i + 1}: {decoded} records in {t:.2f}s ({decoded / t:,.0f}/s)", flush=True)
            for i in range(args.repeats):
                steady, from_ready = await sessions_run(inf.admin_dsn, inf.bootstrap_servers, n, args.timeout)
                steady_rates.append(n / steady)
                ready_rates.append(n / from_ready)
                print(
                    f"  sessions {i + 1}: {n / steady:,.0f}/s steady ({steady:.1f}s), "
                    f"{n / from_ready:,.0f}/s from ready ({from_ready:.1f}s)",
                    flush=True,
                )
            raw = statistics.median(raw_rates)
            floor = statistics.median(floor_rates)
            steady_med = statistics.median(steady_rates)
            ready_med = statistics.median(ready_rates)
            print(f"\n{n:,} pair.formed, medians of {args.repeats} (same run, same broker):\n")
            print("| path | events/s | x raw |")
            print("|---|---|---|")
            print(f"| raw aiokafka consume | {raw:,.0f} | 1 |")
            print(f"| reading and decoding alone, no database | {floor:,.0f} | {floor / raw:.3f} |")
            print(f"| sessions pair.formed, steady state | {steady_med:,.0f} | {steady_med / raw:.3f} |")
            print(f"| sessions pair.formed, from ready | {ready_med:,.0f} | {ready_med / raw:.3f} |")
            figures: dict[str, Any] = {
                "bench": "pipeline_sessions_pairs",
                "events": n,
                "sealed": not args.v1,
                "repeats": args.repeats,
                "raw_events_per_s_median": round(raw),
                "decode_floor_events_per_s_median": round(floor),
                "sessions_steady_events_per_s_median": round(steady_med),
                "sessions_from_ready_events_per_s_median": round(ready_med),
                "sessions_vs_raw": round(steady_med / raw, 4),
                "runs": {"raw": [round(r) for r in raw_rates], "steady": [round(r) for r in steady_rates]},
            }
            print(json.dumps(figures))
        finally:
            inf.stop()


if __name__ == "__main__":
    asyncio.run(main())
