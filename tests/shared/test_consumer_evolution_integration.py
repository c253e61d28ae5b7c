"""A subscriber against an evolving producer, with the real broker and database (docs/events.md):
an added optional field changes nothing; an unknown version is dead-lettered, counted and named."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest
from prometheus_client import generate_latest

from bridge_shared.events.envelope import build_event
from bridge_shared.events.topics import dead_letter_topic
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.observability.metrics import ServiceMetrics
from tests.conftest import unique_topic
from tests.shared.events_for_tests import ThingHappened
from tests.shared.harness import Harness, harness, read_topic

pytestmark = pytest.mark.integration

# A topic of this module's own: other tests put invalid records on the shared test topic on purpose,
# and this consumer reads its topic from the beginning and counts every dead letter.
TOPIC = unique_topic("evolution")


async def _effects(h: Harness, thing_id: str) -> list[asyncpg.Record]:
    async with h.pool.acquire() as conn:
        return await conn.fetch("SELECT * FROM effects WHERE thing_id = $1 ORDER BY seq", thing_id)


async def _wait_for_seqs(h: Harness, thing_id: str, seqs: list[int], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while [r["seq"] for r in await _effects(h, thing_id)] != seqs:
            await asyncio.sleep(0.05)


def _consumer(h: Harness, metrics: ServiceMetrics, *, batch: bool = False) -> EventConsumer:
    name = f"c{uuid.uuid4().hex[:6]}"
    consumer = EventConsumer(
        service=h.schema,
        name=name,
        topics=[TOPIC],
        pool=lambda: h.pool,
        max_attempts=2,
        backoff_initial=0.01,
        backoff_max=0.05,
        batch=batch,
        # As bridge_shared.messaging.factory.consumer_for wires it.
        on_dead_letter=lambda cls: metrics.dead_letters.labels(name, cls).inc(),
    )

    async def record(conn: asyncpg.Connection[Any], payload: ThingHappened) -> None:
        await conn.execute(
            "INSERT INTO effects (event_id, thing_id, seq) VALUES ($1, $2, $3)",
            str(uuid.uuid4()),
            payload.thing_id,
            payload.seq,
        )

    consumer.handle(ThingHappened, record)
    consumer.attach(h.broker)
    return consumer


async def _publish(
    h: Harness, payload: ThingHappened, *, extra: dict[str, Any] | None = None, etype: str = ""
) -> None:
    evt = build_event(payload, source="/bridge/tests")
    value = json.loads(evt.value)
    value.update(extra or {})
    headers = dict(evt.headers, ce_type=etype) if etype else evt.headers
    await h.broker.publish(json.dumps(value).encode(), TOPIC, key=evt.key.encode(), headers=headers)


async def _letters(bootstrap: str, h: Harness, key: str) -> list[dict[str, str]]:
    records = await read_topic(bootstrap, dead_letter_topic(h.schema), 100, timeout=3)
    return [{k: v.decode() for k, v in r.headers} for r in records if r.key == key.encode()]


@pytest.mark.parametrize("batch", [False, True], ids=["one-at-a-time", "batch"])
async def test_an_event_with_an_added_optional_field_is_processed_exactly_as_before(
    scratch_service: tuple[str, str], bootstrap_servers: str, batch: bool
) -> None:
    async with harness(scratch_service, bootstrap_servers, [TOPIC]) as h:
        metrics = ServiceMetrics(h.schema)
        consumer = _consumer(h, metrics, batch=batch)
        await h.broker.start()
        thing = f"{h.schema}-added-field"
        await _publish(h, ThingHappened(thing_id=thing, seq=1))
        await _publish(h, ThingHappened(thing_id=thing, seq=2), extra={"meeting_language": "en"})
        await _publish(h, ThingHappened(thing_id=thing, seq=3))

        await _wait_for_seqs(h, thing, [1, 2, 3])
        assert await _letters(bootstrap_servers, h, thing) == []
        assert metrics.registry.get_sample_value(
            "bridge_dead_letters_total", {"consumer": consumer.name, "error_class": "EnvelopeError"}
        ) in (None, 0.0)


async def test_a_v2_of_a_handled_type_is_dead_lettered_with_the_reason_and_counted(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    async with harness(scratch_service, bootstrap_servers, [TOPIC]) as h:
        metrics = ServiceMetrics(h.schema)
        consumer = _consumer(h, metrics)
        await h.broker.start()
        thing = f"{h.schema}-v2"
        v2 = ThingHappened.event_type.removesuffix(".v1") + ".v2"
        await _publish(h, ThingHappened(thing_id=thing, seq=1), etype=v2)
        # The marker behind it on the same key: once it took effect, the v2 record was dealt with.
        await _publish(h, ThingHappened(thing_id=thing, seq=2))

        await _wait_for_seqs(h, thing, [2])
        letters = await _letters(bootstrap_servers, h, thing)
        assert len(letters) == 1
        assert letters[0]["ce_type"] == v2
        assert letters[0]["dlq_error_class"] == "UnknownEventVersion"
        assert letters[0]["dlq_error"].startswith(f"unknown version {v2}; this consumer knows v1")
        labels = {"service": h.schema, "consumer": consumer.name, "type": v2, "action": "dead_lettered"}
        assert metrics.registry.get_sample_value("bridge_events_unknown_total", labels) == 1.0
        assert (
            metrics.registry.get_sample_value(
                "bridge_dead_letters_total", {"consumer": consumer.name, "error_class": "UnknownEventVersion"}
            )
            == 1.0
        )
        assert "bridge_events_unknown_total{" in generate_latest(metrics.registry).decode()
