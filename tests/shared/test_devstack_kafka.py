"""The local Apache Kafka: a verified distribution, and data that survives restarts and crashes.

The three-node mode (one broker of three killed under load, nothing lost) is proven by the chaos
suite's kill-1-of-3-brokers fault (make chaos, and CI's chaos run), not here."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition

from bridge_devstack.kafka import KafkaCluster, ensure_distribution, verify

pytestmark = pytest.mark.integration


def test_distribution_matches_the_committed_checksums_and_tampering_is_caught(tmp_path: Path) -> None:
    libs = ensure_distribution()
    assert verify(libs) == []
    copy = tmp_path / "libs"
    copy.mkdir()
    jars = sorted(libs.glob("*.jar"))
    for jar in jars[1:]:
        os.symlink(jar, copy / jar.name)
    assert verify(copy) == [f"missing {jars[0].name}"]
    (copy / jars[0].name).write_bytes(jars[0].read_bytes() + b"\0")
    (copy / "extra.jar").write_bytes(b"")
    assert verify(copy) == ["unexpected extra.jar", f"checksum mismatch: {jars[0].name}"]


async def _create(bootstrap: str, topic: str, partitions: int, rf: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=rf)])
    finally:
        await admin.close()


async def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        acks = [await producer.send(topic, v, key=v) for v in values]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def _consume(bootstrap: str, topic: str, group: str, count: int, *, commit: bool) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    got: list[bytes] = []
    try:
        async with asyncio.timeout(30):
            while len(got) < count:
                for records in (
                    await consumer.getmany(timeout_ms=500, max_records=count - len(got))
                ).values():
                    got += [r.value for r in records if r.value is not None]
        if commit:
            await consumer.commit()
    finally:
        await consumer.stop()
    return got


async def _committed(bootstrap: str, topic: str, group: str, *, expect: int) -> int | None:
    """The group's committed offset; right after a restart the coordinator may still be loading
    the offsets topic and answer "none yet", so ask until it answers `expect` or 20 s pass."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    offset = None
    try:
        for _ in range(40):
            offset = await consumer.committed(TopicPartition(topic, 0))
            if offset == expect:
                break
            await asyncio.sleep(0.5)
        return offset
    finally:
        await consumer.stop()


async def test_topics_offsets_and_acknowledged_writes_survive_a_restart_and_a_kill(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path / "kafka", fast=True).start()
    try:
        bootstrap = cluster.bootstrap_servers
        topic = f"bridge.test.durable-{uuid.uuid4().hex[:8]}"
        await _create(bootstrap, topic, 1, 1)
        await _produce(bootstrap, topic, [f"m{i}".encode() for i in range(10)])
        assert await _consume(bootstrap, topic, "g", 4, commit=True) == [f"m{i}".encode() for i in range(4)]

        cluster.stop()
        cluster.start()
        assert cluster.bootstrap_servers == bootstrap, "a restarted cluster listens where it did"
        assert await _committed(bootstrap, topic, "g", expect=4) == 4
        await _produce(bootstrap, topic, [f"m{i}".encode() for i in range(10, 20)])

        cluster.kill(0)  # kill -9: whatever was acknowledged must still be there
        cluster.start_node(0)
        rest = await _consume(bootstrap, topic, "g", 16, commit=False)
        assert rest == [f"m{i}".encode() for i in range(4, 20)]
    finally:
        cluster.stop()
