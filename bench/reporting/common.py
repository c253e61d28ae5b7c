"""Shared bench plumbing: infrastructure, a reporting schema, producing events fast."""

from __future__ import annotations

import asyncio
import secrets
import statistics
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bridge_devstack.infra import Infra, start_infra
from bridge_reporting.settings import ReportingSettings
from bridge_shared.db.provision import provision
from bridge_shared.events.envelope import OutgoingEvent
from bridge_shared.events.topics import ALL_EVENT_TOPICS
from bridge_shared.messaging.broker import ensure_topics
from bridge_shared.messaging.client_security import client_kwargs
from bridge_shared.messaging.security import KafkaClientSettings

# The benchmarks' Kafka security: the BRIDGE_KAFKA_* environment (PLAINTEXT when unset), the same
# settings every Bridge client reads (docs/security-kafka.md).
SECURITY = KafkaClientSettings.from_env()


def kafka_kwargs() -> dict[str, object]:
    return client_kwargs(SECURITY)


def service_env(service: str) -> dict[str, str]:
    """The BRIDGE_KAFKA_* security settings under a service's prefix, for a service the bench starts."""
    import os

    prefix = f"BRIDGE_{service.upper()}_"
    return {
        prefix + k.removeprefix("BRIDGE_"): v for k, v in os.environ.items() if k.startswith("BRIDGE_KAFKA_")
    }


def infra(workdir: Path) -> Infra:
    return start_infra(workdir, fast=True, kafka_quick_start=False)


async def reporting_settings(inf: Infra, **overrides: object) -> ReportingSettings:
    name = f"reporting_bench_{uuid.uuid4().hex[:6]}"
    dsn = await provision(inf.admin_dsn, name, secrets.token_hex(8))
    await ensure_topics(inf.bootstrap_servers, ALL_EVENT_TOPICS, partitions=3, security=SECURITY)
    return ReportingSettings(
        service_name=name,
        db_schema=name,
        database_url=dsn,
        kafka_bootstrap_servers=inf.bootstrap_servers,
        environment="test",
        **SECURITY.model_dump(),
        log_json=False,
        log_level="WARNING",
        **overrides,
    )  # type: ignore[arg-type]


async def produce(
    bootstrap: str, events: Iterable[OutgoingEvent], *, window: int = 20_000
) -> tuple[int, float]:
    await ensure_topics(bootstrap, ALL_EVENT_TOPICS, partitions=3, security=SECURITY)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=5, acks="all", enable_idempotence=True, **kafka_kwargs()
    )
    await producer.start()
    t0 = time.perf_counter()
    n = 0
    try:
        pending = []
        for evt in events:
            headers = [(k, v.encode()) for k, v in evt.headers.items()]
            pending.append(await producer.send(evt.topic, evt.value, key=evt.key.encode(), headers=headers))
            n += 1
            if len(pending) >= window:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return n, time.perf_counter() - t0


async def end_total(bootstrap: str) -> int:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, **kafka_kwargs()
    )
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()
        parts = [
            TopicPartition(t, p) for t in ALL_EVENT_TOPICS for p in cluster.partitions_for_topic(t) or ()
        ]
        ends = await consumer.end_offsets(parts) if parts else {}
        return sum(ends.values())
    finally:
        await consumer.stop()


async def wait_stored(bootstrap: str, expected: int, *, settle: float = 5.0) -> int:
    """Wait until the topics' high watermarks show every event, or stop moving for `settle` seconds
    (the bench then reports against what the broker actually stored; with Kafka and acks=all that is
    every acknowledged record)."""
    total, last_change, prev = 0, time.monotonic(), -1
    while True:
        total = await end_total(bootstrap)
        if total >= expected:
            return total
        if total != prev:
            prev, last_change = total, time.monotonic()
        elif time.monotonic() - last_change > settle:
            return total
        await asyncio.sleep(0.5)


async def raw_consume(bootstrap: str) -> tuple[int, float]:
    """Reads every event topic from the start to the current end with plain aiokafka: the floor."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        max_poll_records=10_000,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        **kafka_kwargs(),
    )
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()
        parts = [
            TopicPartition(t, p) for t in ALL_EVENT_TOPICS for p in cluster.partitions_for_topic(t) or ()
        ]
        consumer.assign(parts)
        t0 = time.perf_counter()
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        n = 0
        pending = {tp for tp in parts if ends[tp] > 0}
        while pending:
            got = await consumer.getmany(*pending, timeout_ms=500, max_records=10_000)
            for tp, recs in got.items():
                n += sum(1 for r in recs if r.offset < ends[tp])
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return n, time.perf_counter() - t0
    finally:
        await consumer.stop()


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")
