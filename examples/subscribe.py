"""Subscribe to Bridge events from outside the platform, with the CloudEvents Python SDK.

    pip install aiokafka cloudevents          # (inside this repository: .tools/bin/uv run ...)
    python examples/subscribe.py --bootstrap 127.0.0.1:9092 --topic bridge.matching.pair \
        --type com.bridge.matching.pair.formed.v1 --group my-team.pairs

Every Bridge record is a CloudEvents 1.0 event in Kafka binary mode: `ce_*` headers, the JSON payload
as the value, the aggregate id as the key (and as `ce_partitionkey`). Dispatch on the type,
deduplicate on the id (a redelivered event keeps it), and read payloads tolerantly (ignore fields you
do not know). Topics, types and schemas: docs/events-catalogue.md and each service's /asyncapi.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event


def to_cloudevent(headers: Iterable[tuple[str, bytes]], key: bytes | None, value: bytes) -> BaseCloudEvent:
    """One Kafka record -> a CloudEvent (attributes from the `ce_*` headers, data = the JSON payload)."""
    return from_binary_event(KafkaMessage(headers=dict(headers), key=key, value=value))


async def subscribe(
    bootstrap_servers: str,
    topics: Sequence[str],
    *,
    types: Iterable[str] = (),
    group_id: str | None = None,
    from_beginning: bool = True,
    limit: int | None = None,
    idle_timeout: float | None = None,
) -> AsyncIterator[BaseCloudEvent]:
    """Yields the events on `topics` (only `types`, when given), in order per key.

    With a `group_id` the offsets are committed after each event was yielded and handled (at-least-
    once: make your handling idempotent on `event.get_id()`). Stops after `limit` events, or when no
    record arrived for `idle_timeout` seconds.
    """
    wanted = set(types)
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    await consumer.start()
    seen = 0
    try:
        while limit is None or seen < limit:
            batch = await consumer.getmany(timeout_ms=int((idle_timeout or 1.0) * 1000))
            if not batch:
                if idle_timeout is not None:
                    return
                continue
            for records in batch.values():
                for rec in records:
                    event = to_cloudevent(rec.headers or (), rec.key, rec.value or b"")
                    if wanted and event.get_type() not in wanted:
                        continue  # another type on the same topic: skip it, don't fail
                    yield event
                    seen += 1
                    if limit is not None and seen >= limit:
                        break
                if limit is not None and seen >= limit:
                    break
            if group_id is not None:
                await consumer.commit()
    finally:
        await consumer.stop()


def describe(event: BaseCloudEvent) -> dict[str, Any]:
    time = event.get_time()
    return {
        "type": event.get_type(),
        "id": event.get_id(),
        "source": event.get_source(),
        "time": time.isoformat() if time else None,
        "subject": event.get_subject(),
        "key": event.get_extension("partitionkey"),
        "dataschema": event.get_dataschema(),
        "data": event.get_data(),
    }


async def _main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--topic", action="append", required=True, help="e.g. bridge.matching.pair")
    parser.add_argument("--type", action="append", default=[], help="only these ce_type values")
    parser.add_argument("--group", default=None, help="consumer group (commits offsets)")
    parser.add_argument("--latest", action="store_true", help="start at the end, not the beginning")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--idle-timeout", type=float, default=None, help="stop after this many quiet seconds")
    args = parser.parse_args(argv)
    async for event in subscribe(
        args.bootstrap,
        args.topic,
        types=args.type,
        group_id=args.group,
        from_beginning=not args.latest,
        limit=args.limit,
        idle_timeout=args.idle_timeout,
    ):
        print(json.dumps(describe(event), default=str), flush=True)


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1:]))
