"""Outbox relay throughput: events/s from the outbox table to Kafka, beside raw aiokafka in the same run.

    .tools/bin/uv run python bench/outbox/run.py [--events 20000] [--repeats 3]

Starts embedded PostgreSQL and Apache Kafka (or uses DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS), writes
--events events into a service's outbox with one bulk statement, then times the relay draining them
(publish + broker acks + marking rows published). The baseline sends the same records (same keys,
headers and values) straight to the broker with aiokafka, same acks and linger.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer

from bridge_devstack.infra import start_infra
from bridge_shared.contracts.matching import CohortPhaseChangedV1
from bridge_shared.db.migrations import migrate
from bridge_shared.db.pool import create_pool
from bridge_shared.db.provision import provision
from bridge_shared.gc_tuning import tune_gc
from bridge_shared.messaging.broker import create_broker, ensure_topics
from bridge_shared.messaging.client_security import client_kwargs
from bridge_shared.messaging.security import KafkaClientSettings
from bridge_shared.observability.metrics import ServiceMetrics
from bridge_shared.outbox.relay import OutboxRelay
from bridge_shared.outbox.sender import outbox_sender, send_now
from bridge_shared.outbox.writer import Outbox

# Kafka security from the BRIDGE_KAFKA_* environment (PLAINTEXT when unset; docs/security-kafka.md).
SECURITY = KafkaClientSettings.from_env()


def payloads(n: int, keys: int) -> list[tuple[CohortPhaseChangedV1, str | None]]:
    now = __import__("datetime").datetime.now(__import__("datetime").UTC)
    return [
        (
            CohortPhaseChangedV1(
                cohort_id=f"c{i % keys}", from_phase="draft", to_phase="enrolling", changed_at=now
            ),
            None,
        )
        for i in range(n)
    ]


async def relay_once(admin_dsn: str, bootstrap: str, n: int, keys: int, batch_size: int = 1000) -> float:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    dsn = await provision(admin_dsn, name, secrets.token_hex(8))
    pool = await create_pool(dsn, schema=name, min_size=2, max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn, name, None)
    outbox = Outbox(schema=name, source="/bench")
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add_many(conn, payloads(n, keys))
    # As a running service builds it (bridge_shared.service.build_app): tracing and metrics middleware.
    metrics = ServiceMetrics(name)
    broker = create_broker(
        bootstrap, service=name, middlewares=[metrics.broker_middleware(name)], security=SECURITY
    )
    await broker.start()

    relay = OutboxRelay(
        dsn=dsn,
        pool=pool,
        schema=name,
        send=outbox_sender(broker),
        send_now=send_now(broker),
        batch_size=batch_size,
        metrics=metrics,
    )
    async with relay.leadership():  # lock + lease once, as the running relay holds them
        started = time.perf_counter()
        while await relay.drain_once():
            pass
        elapsed = time.perf_counter() - started
    await broker.stop()
    await pool.close()
    return elapsed


async def raw_once(bootstrap: str, n: int, keys: int) -> float:
    from bridge_shared.events.envelope import build_event

    events = [build_event(p, source="/bench") for p, _ in payloads(n, keys)]
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=5,
        enable_idempotence=True,
        **client_kwargs(SECURITY),
    )
    await producer.start()
    started = time.perf_counter()
    futures = [
        await producer.send(
            e.topic, e.value, key=e.key.encode(), headers=[(k, v.encode()) for k, v in e.headers.items()]
        )
        for e in events
    ]
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    await producer.stop()
    return elapsed


async def main_async(n: int, repeats: int, keys: int) -> None:
    tune_gc()  # raw and relay alike, as a service's process has it once started
    with tempfile.TemporaryDirectory() as tmp:
        infra = start_infra(Path(tmp), fast=True, kafka_quick_start=False)
        try:
            await ensure_topics(
                infra.bootstrap_servers, [CohortPhaseChangedV1.topic], partitions=3, security=SECURITY
            )
            relay_t, raw_t = [], []
            for _ in range(repeats):
                raw_t.append(await raw_once(infra.bootstrap_servers, n, keys))
                relay_t.append(await relay_once(infra.admin_dsn, infra.bootstrap_servers, n, keys))
        finally:
            infra.stop()
    raw_rate = n / statistics.median(raw_t)
    relay_rate = n / statistics.median(relay_t)
    print(f"\n{n} events over {keys} keys x {repeats} runs, medians ({infra.description})\n")
    print("| path | median s | events/s | vs raw |")
    print("|---|---:|---:|---:|")
    print(f"| raw aiokafka produce (baseline) | {statistics.median(raw_t):.2f} | {raw_rate:,.0f} | 1.00x |")
    print(
        f"| outbox relay (publish + mark published) | {statistics.median(relay_t):.2f} | {relay_rate:,.0f} | "
        f"{relay_rate / raw_rate:.2f}x |"
    )
    figures = {
        "events": n,
        "keys": keys,
        "repeats": repeats,
        "raw_events_per_s": round(raw_rate),
        "relay_events_per_s": round(relay_rate),
        "relay_vs_raw": round(relay_rate / raw_rate, 3),
    }
    print(json.dumps({"bench": "outbox", **figures}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keys", type=int, default=500, help="distinct aggregate keys among the events")
    args = parser.parse_args()
    asyncio.run(main_async(args.events, args.repeats, args.keys))


if __name__ == "__main__":
    main()
