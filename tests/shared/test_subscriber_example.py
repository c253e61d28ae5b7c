"""examples/subscribe.py (README's subscriber quick start) decodes a real Bridge event from a real
broker with the CloudEvents SDK: type, id, source, time, key, dataschema and data as published."""

from __future__ import annotations

import importlib.util
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from aiokafka import AIOKafkaProducer

from bridge_shared.contracts.matching import PairDissolvedV1
from bridge_shared.events.envelope import build_event
from bridge_shared.events.examples import example_payload
from bridge_shared.messaging.broker import ensure_topics
from tests.service_harness import topic_prefix

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "subscribe.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bridge_subscribe_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_example_decodes_a_published_bridge_event(bootstrap_servers: str) -> None:
    example = _example()
    topic = f"{topic_prefix()}{uuid.uuid4().hex[:6]}.{PairDissolvedV1.topic}"
    await ensure_topics(bootstrap_servers, [topic], partitions=1)
    payload = PairDissolvedV1.model_validate(example_payload(PairDissolvedV1))
    when = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
    evt = build_event(
        payload,
        source="/bridge/matching",
        subject=f"pair/{payload.pair_id}",
        time=when,
        schema_base_url="http://127.0.0.1:8001/schemas/events",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        # another type first: the example's type filter skips it
        other = build_event(payload, source="/bridge/matching")
        noise = [(k, v.encode()) for k, v in other.headers.items()]
        noise = [(k, b"com.bridge.matching.pair.other.v1" if k == "ce_type" else v) for k, v in noise]
        await producer.send_and_wait(topic, other.value, key=other.key.encode(), headers=noise)
        headers = [(k, v.encode()) for k, v in evt.headers.items()]
        await producer.send_and_wait(topic, evt.value, key=evt.key.encode(), headers=headers)
    finally:
        await producer.stop()

    events = [
        e
        async for e in example.subscribe(
            bootstrap_servers, [topic], types=[evt.type], limit=1, idle_timeout=20.0
        )
    ]
    assert len(events) == 1
    got = example.describe(events[0])
    assert got["type"] == "com.bridge.matching.pair.dissolved.v1"
    assert got["id"] == evt.id
    assert got["source"] == "/bridge/matching"
    assert got["subject"] == f"pair/{payload.pair_id}"
    assert events[0].get_time() == when
    assert got["key"] == payload.pair_id
    assert (
        got["dataschema"] == "http://127.0.0.1:8001/schemas/events/com.bridge.matching.pair.dissolved.v1.json"
    )
    assert got["data"] == json.loads(evt.value)
    assert PairDissolvedV1.model_validate(got["data"]) == payload
