"""The consumer's decoding and dead-letter routing, in memory with FastStream's TestKafkaBroker.

The same consumer is exercised against the real broker and database in test_consumer_integration.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from bridge_shared.events.envelope import build_event
from bridge_shared.events.topics import dead_letter_topic
from bridge_shared.messaging.consumer import EventConsumer
from tests.shared.events_for_tests import THING_TOPIC, ThingHappened


async def _raw(msg: Any) -> Any:
    return msg.body


def _unreachable_pool() -> Any:
    raise AssertionError("invalid events must never reach the database")


async def test_invalid_event_is_dead_lettered_without_touching_the_database() -> None:
    broker = KafkaBroker()
    consumer = EventConsumer(service="memtest", name="things", topics=[THING_TOPIC], pool=_unreachable_pool)

    @consumer.on(ThingHappened)
    async def handle(conn: Any, event: Any) -> None:  # pragma: no cover - must not run
        raise AssertionError("handler must not run")

    consumer.attach(broker)
    letters: list[dict[str, str]] = []

    @broker.subscriber(dead_letter_topic("memtest"), group_id="dlq-reader", decoder=_raw)
    async def read_dlq(msg: KafkaMessage) -> None:
        letters.append(dict(msg.headers))

    async with TestKafkaBroker(broker) as br:
        good = build_event(ThingHappened(thing_id="t", seq=1), source="/x")
        bad = json.dumps({"thing_id": "t", "seq": "NaN"}).encode()
        await br.publish(bad, THING_TOPIC, key=b"t", headers=dict(good.headers, ce_id=str(uuid.uuid4())))
        assert consumer.subscriber.mock is not None
        consumer.subscriber.mock.assert_called_once()
        read_dlq.mock.assert_called_once()
    assert letters[0]["dlq_original_topic"] == THING_TOPIC
    assert letters[0]["dlq_error_class"] == "EnvelopeError"
    assert "seq" in letters[0]["dlq_error"]


async def test_events_of_other_types_on_the_topic_are_ignored() -> None:
    broker = KafkaBroker()
    consumer = EventConsumer(service="memtest2", name="things", topics=[THING_TOPIC], pool=_unreachable_pool)
    consumer.attach(broker)  # no handlers registered: every type is someone else's

    async with TestKafkaBroker(broker) as br:
        evt = build_event(ThingHappened(thing_id="t", seq=1), source="/x")
        await br.publish(evt.value, THING_TOPIC, key=b"t", headers=evt.headers)
        consumer.subscriber.mock.assert_called_once()
