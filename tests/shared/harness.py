"""In-process wiring of the shared mechanisms against the real database and broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from faststream.kafka import KafkaBroker

from bridge_shared.db.migrations import migrate
from bridge_shared.db.pool import create_pool
from bridge_shared.events.topics import dead_letter_topic
from bridge_shared.messaging.broker import create_broker, ensure_topics
from bridge_shared.outbox.relay import OutboxRelay, PendingRow
from bridge_shared.outbox.sender import outbox_sender
from bridge_shared.outbox.writer import Outbox


@dataclass
class Harness:
    schema: str
    dsn: str
    pool: asyncpg.Pool
    broker: KafkaBroker
    outbox: Outbox
    bootstrap: str


@asynccontextmanager
async def harness(scratch: tuple[str, str], bootstrap: str, topics: list[str]) -> AsyncIterator[Harness]:
    schema, dsn = scratch
    pool = await create_pool(dsn, schema=schema)
    async with pool.acquire() as conn:
        await migrate(conn, schema, None)
        await conn.execute(
            "CREATE TABLE effects (event_id text PRIMARY KEY, thing_id text, seq int, "
            "at timestamptz DEFAULT clock_timestamp())"
        )
    await ensure_topics(bootstrap, topics, partitions=3)
    await ensure_topics(bootstrap, [dead_letter_topic(schema)], partitions=1)
    broker = create_broker(bootstrap, service=schema)
    try:
        yield Harness(schema, dsn, pool, broker, Outbox(schema=schema, source=f"/bridge/{schema}"), bootstrap)
    finally:
        await broker.stop()
        await pool.close()


def broker_send(broker: KafkaBroker) -> Callable[[PendingRow], Awaitable[Any]]:
    """What a service's relay sends with (bridge_shared.outbox.sender)."""
    return outbox_sender(broker)


def make_relay(h: Harness, send: Callable[[PendingRow], Awaitable[Any]], **kw: Any) -> OutboxRelay:
    return OutboxRelay(dsn=h.dsn, pool=h.pool, schema=h.schema, send=send, **kw)


async def read_topic(bootstrap: str, topic: str, count: int, timeout: float = 15.0) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[Any] = []
    try:
        async with asyncio.timeout(timeout):
            while len(out) < count:
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    out.extend(records)
    except TimeoutError:
        pass
    finally:
        await consumer.stop()
    return out


async def start_group_at_end(bootstrap: str, group_id: str, topic: str) -> None:
    """Commits a new consumer group's offsets at the topic's current end, so that it reads only what
    is published from now on. Tests sharing a topic then never wade through each other's records
    (hundreds, on a busy CI run) before reaching their own."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(await producer.partitions_for(topic))]
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit({tp: OffsetAndMetadata(off, "") for tp, off in ends.items()})
    finally:
        await consumer.stop()
