"""`bridge-dlq`: inspect a service's dead letters and re-drive them once the cause is fixed.

    bridge-dlq list   --service reporting [--limit 50]
    bridge-dlq replay --service reporting (--event-id ID ... | --all) [--dry-run]

Replay republishes the original record (key, value, CloudEvents headers) to its original topic. The
consumer's inbox makes a replay of an event that has since been handled a no-op, so replaying twice
is safe. The broker comes from --bootstrap or KAFKA_BOOTSTRAP_SERVERS, else the platform `make up`
runs (.run/platform.json), else 127.0.0.1:9092; its security (SASL_SSL with
SCRAM, mutual TLS) from the `BRIDGE_KAFKA_*` environment or the flags (docs/security-kafka.md). With
ACLs, run it as the operator principal `bridge-dlq` (it reads every dead-letter topic and writes the
event topics back).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from bridge_shared.events.topics import dead_letter_topic
from bridge_shared.messaging.broker import bootstrap_list
from bridge_shared.messaging.client_security import client_kwargs
from bridge_shared.messaging.security import (
    KafkaSecuritySettings,
    add_security_arguments,
    security_from_args,
)
from bridge_shared.run_file import running_platform


@dataclass(frozen=True)
class Letter:
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def event_id(self) -> str:
        return self.headers.get("ce_id", "")

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v.encode()) for k, v in self.headers.items() if not k.startswith("dlq_")]


async def read_letters(
    bootstrap: str,
    service: str,
    *,
    limit: int | None = None,
    topic_prefix: str = "",
    security: KafkaSecuritySettings | None = None,
) -> list[Letter]:
    topic = dead_letter_topic(service, topic_prefix)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_list(bootstrap),
        enable_auto_commit=False,
        group_id=None,
        **client_kwargs(security),
    )
    await consumer.start()
    letters: list[Letter] = []
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or (await _partitions(consumer, topic)))
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while limit is None or len(letters) < limit:
            batch = await consumer.getmany(*tps, timeout_ms=1000, max_records=1000)
            if not batch:
                break
            for records in batch.values():
                for rec in records:
                    headers = {k: v.decode("utf-8", "replace") for k, v in rec.headers or ()}
                    letters.append(Letter(rec.offset, rec.key, rec.value or b"", headers))
    finally:
        await consumer.stop()
    return letters[:limit] if limit is not None else letters


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or set()


async def replay(
    bootstrap: str, letters: Sequence[Letter], *, security: KafkaSecuritySettings | None = None
) -> int:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_list(bootstrap),
        **client_kwargs(security),
        acks="all",
        enable_idempotence=True,
        client_id=f"bridge-dlq-{uuid.uuid4().hex[:6]}",
    )
    await producer.start()
    try:
        for letter in letters:
            await producer.send_and_wait(
                letter.headers["dlq_original_topic"],
                letter.value,
                key=letter.key,
                headers=letter.original_headers,
            )
    finally:
        await producer.stop()
    return len(letters)


def _describe(letter: Letter) -> str:
    h = letter.headers
    return (
        f"{letter.offset:>6}  {h.get('ce_type', '?')}  id={letter.event_id}  from "
        f"{h.get('dlq_original_topic')}[{h.get('dlq_original_partition')}]@{h.get('dlq_original_offset')}  "
        f"{h.get('dlq_error_class')}: {h.get('dlq_error', '')[:200]}"
    )


async def _main(args: argparse.Namespace) -> int:
    security = security_from_args(args)
    letters = await read_letters(
        args.bootstrap,
        args.service,
        limit=args.limit if args.command == "list" else None,
        topic_prefix=args.topic_prefix,
        security=security,
    )
    if args.command == "list":
        for letter in letters:
            print(_describe(letter))
        print(f"{len(letters)} dead letter(s) for {args.service}")
        return 0
    wanted = letters if args.all else [lt for lt in letters if lt.event_id in set(args.event_id or ())]
    if not wanted:
        print("nothing to replay", file=sys.stderr)
        return 1
    for letter in wanted:
        print(("would replay " if args.dry_run else "replaying ") + _describe(letter))
    if not args.dry_run:
        await replay(args.bootstrap, wanted, security=security)
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("--service", required=True, help="the consuming service whose dead letters to read")
    parser.add_argument(
        "--bootstrap",
        help="default: $KAFKA_BOOTSTRAP_SERVERS, else the platform make up runs, else 127.0.0.1:9092",
    )
    parser.add_argument(
        "--topic-prefix",
        default=os.environ.get("KAFKA_TOPIC_PREFIX", ""),
        help="the services' kafka_topic_prefix, when the cluster is shared (default: none)",
    )
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--event-id", action="append", help="replay only this CloudEvents id (repeatable)")
    parser.add_argument("--all", action="store_true", help="replay every dead letter")
    parser.add_argument("--dry-run", action="store_true")
    add_security_arguments(parser)
    args = parser.parse_args(argv)
    args.bootstrap = (
        args.bootstrap
        or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        or running_platform(tool="bridge-dlq").get("kafka_bootstrap_servers")
        or "127.0.0.1:9092"
    )
    if args.command == "replay" and not (args.all or args.event_id):
        parser.error("replay needs --event-id or --all")
    sys.exit(asyncio.run(_main(args)))


if __name__ == "__main__":
    main()
