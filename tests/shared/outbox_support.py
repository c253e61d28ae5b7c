"""Helpers for the outbox relay tests: read a topic exactly (to its end offsets), raw outbox rows."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from bridge_shared.events.envelope import build_event
from tests.shared.events_for_tests import ThingHappened


async def read_all(bootstrap: str, topic: str, keys: set[str] | None = None) -> list[Any]:
    """Every record on the topic up to its current end offsets (duplicates included), optionally
    only those with one of `keys`. Exact, so it can count duplicates."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        client_id=f"r-{uuid.uuid4().hex}",
    )
    await consumer.start()
    out: list[Any] = []
    try:
        await consumer._client.force_metadata_update()
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for records in batch.values():
                out.extend(r for r in records if keys is None or (r.key or b"").decode() in keys)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return out


def seqs_by_key(records: list[Any]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for r in records:
        out[r.key.decode()].append(int(json.loads(r.value)["seq"]))
    return dict(out)


def event_ids(records: list[Any]) -> list[str]:
    return [dict(r.headers)["ce_id"].decode() for r in records]


async def insert_raw(
    conn: asyncpg.Connection[Any] | Any,
    thing_id: str,
    seq: int,
    *,
    note: str = "",
    headers: dict[str, Any] | None = None,
) -> int:
    """An outbox row written without Outbox.add's checks (as an old writer or hand-made SQL could)."""
    evt = build_event(ThingHappened(thing_id=thing_id, seq=seq, note=note), source="/tests")
    row_id: int = await conn.fetchval(
        """INSERT INTO outbox (event_id, topic, partition_key, event_type, headers, payload)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
        evt.id,
        evt.topic,
        evt.key,
        evt.type,
        headers if headers is not None else evt.headers,
        evt.value,
    )
    return row_id


async def published_prefix_holds(conn: asyncpg.Connection[Any] | Any) -> list[str]:
    """Keys whose published rows are not a prefix of their rows in id order (should be none)."""
    rows = await conn.fetch(
        """SELECT partition_key, array_agg(published_at IS NOT NULL ORDER BY id) AS flags
           FROM outbox WHERE discarded_at IS NULL AND parked_at IS NULL GROUP BY partition_key"""
    )
    bad = []
    for r in rows:
        flags = list(r["flags"])
        first_unpublished = flags.index(False) if False in flags else len(flags)
        if any(flags[first_unpublished:]):
            bad.append(r["partition_key"])
    return bad
