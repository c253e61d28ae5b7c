"""Subscribe to Bridge events from outside the platform, with the CloudEvents Python SDK.

    pip install aiokafka cloudevents          # (inside this repository: .tools/bin/uv run ...)
    python examples/subscribe.py --bootstrap 127.0.0.1:9092 --topic bridge.matching.pair \
        --type com.bridge.matching.pair.formed.v2 --group my-team.pairs

    # a secured cluster (SASL_SSL with SCRAM-SHA-512; docs/security-kafka.md), the password from the env:
    KAFKA_SASL_PASSWORD=... python examples/subscribe.py --bootstrap kafka:9093 \
        --security-protocol SASL_SSL --sasl-username my-team --ssl-cafile ca.pem --topic bridge.matching.pair
    # or mutual TLS: --security-protocol SSL --ssl-cafile ca.pem --ssl-certfile me.pem --ssl-keyfile me.key

Every Bridge record is a CloudEvents 1.0 event in Kafka binary mode: `ce_*` headers, the JSON payload
as the value, the aggregate id as the key (and as `ce_partitionkey`). Dispatch on the type,
deduplicate on the id (a redelivered event keeps it), and read payloads tolerantly (ignore fields you
do not know). Topics, types and schemas: docs/events-catalogue.md and each service's /asyncapi.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.helpers import create_ssl_context
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
    security: dict[str, Any] | None = None,
) -> AsyncIterator[BaseCloudEvent]:
    """Yields the events on `topics` (only `types`, when given), in order per key.

    With a `group_id` the offsets are committed after each event was yielded and handled (at-least-
    once: make your handling idempotent on `event.get_id()`). Stops after `limit` events, or when no
    record arrived for `idle_timeout` seconds. `security`: aiokafka's security arguments
    (see `security_kwargs`), for a cluster with SASL/SCRAM or mutual TLS.
    """
    wanted = set(types)
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
        **(security or {}),
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


def security_kwargs(
    protocol: str = "PLAINTEXT",
    *,
    username: str | None = None,
    password: str | None = None,
    mechanism: str = "SCRAM-SHA-512",
    cafile: str | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
) -> dict[str, Any]:
    """aiokafka's arguments for a Bridge cluster: SASL_SSL + SCRAM (username/password), SSL with a
    client certificate (mutual TLS), or PLAINTEXT (a local development cluster)."""
    kwargs: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        kwargs["ssl_context"] = create_ssl_context(cafile=cafile, certfile=certfile, keyfile=keyfile)
    if protocol.startswith("SASL_"):
        kwargs |= {
            "sasl_mechanism": mechanism,
            "sasl_plain_username": username,
            "sasl_plain_password": password,
        }
    return kwargs


async def _main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--topic", action="append", required=True, help="e.g. bridge.matching.pair")
    parser.add_argument("--type", action="append", default=[], help="only these ce_type values")
    parser.add_argument("--group", default=None, help="consumer group (commits offsets)")
    parser.add_argument("--latest", action="store_true", help="start at the end, not the beginning")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--idle-timeout", type=float, default=None, help="stop after this many quiet seconds")
    parser.add_argument("--security-protocol", default="PLAINTEXT", choices=["PLAINTEXT", "SSL", "SASL_SSL"])
    parser.add_argument(
        "--sasl-mechanism", default="SCRAM-SHA-512", choices=["SCRAM-SHA-512", "SCRAM-SHA-256"]
    )
    parser.add_argument("--sasl-username", help="the password is read from KAFKA_SASL_PASSWORD")
    parser.add_argument("--ssl-cafile", help="the CA that signed the brokers' certificates")
    parser.add_argument("--ssl-certfile", help="client certificate, for mutual TLS")
    parser.add_argument("--ssl-keyfile", help="client key, for mutual TLS")
    args = parser.parse_args(argv)
    security = security_kwargs(
        args.security_protocol,
        username=args.sasl_username,
        password=os.environ.get("KAFKA_SASL_PASSWORD"),
        mechanism=args.sasl_mechanism,
        cafile=args.ssl_cafile,
        certfile=args.ssl_certfile,
        keyfile=args.ssl_keyfile,
    )
    async for event in subscribe(
        args.bootstrap,
        args.topic,
        types=args.type,
        group_id=args.group,
        from_beginning=not args.latest,
        limit=args.limit,
        idle_timeout=args.idle_timeout,
        security=security,
    ):
        print(json.dumps(describe(event), default=str), flush=True)


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1:]))
