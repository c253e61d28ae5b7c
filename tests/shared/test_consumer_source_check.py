"""The consumer's source check (docs/security-kafka.md): an event on a Bridge service's topic whose
CloudEvents source is not that service is dead-lettered with the reason and never handled.

The issue's forgery: a `pair.formed` on matching's pair topic, but not from matching. Real broker,
real database (the shared test infrastructure)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest

from bridge_shared.contracts.matching import PairFormedV1
from bridge_shared.events.envelope import build_event
from bridge_shared.events.topics import MATCHING_PAIR, dead_letter_topic
from bridge_shared.messaging.broker import ensure_topics
from bridge_shared.messaging.consumer import EventConsumer, UnexpectedSource
from bridge_shared.messaging.sources import owner_source, topic_owner, unexpected_source
from tests.shared.events_for_tests import pair_formed
from tests.shared.harness import harness, read_topic

pytestmark = pytest.mark.integration


def test_the_owner_of_a_topic_and_the_sources_it_accepts() -> None:
    assert topic_owner(MATCHING_PAIR) == "matching"
    assert topic_owner("staging." + MATCHING_PAIR, "staging.") == "matching"
    assert owner_source(MATCHING_PAIR) == "/bridge/matching"
    assert unexpected_source(MATCHING_PAIR, "/bridge/matching") is None
    # An instance name with a suffix (a test run's `matching_1a2b3c4d`) still names the owner.
    assert unexpected_source(MATCHING_PAIR, "/bridge/matching_1a2b3c4d") is None
    for forged in ("/bridge/sessions", "/bridge/matchingx", "/bridge/matching/../sessions", "/evil", ""):
        assert unexpected_source(MATCHING_PAIR, forged) is not None, forged
    # Not a Bridge service's topic: not checked.
    assert topic_owner("bridge.test.thing") is None
    assert unexpected_source("bridge.test.thing", "/anything") is None


async def test_a_forged_pair_formed_is_dead_lettered_with_the_reason_and_never_handled(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    prefix = f"src{uuid.uuid4().hex[:8]}."
    topic = prefix + MATCHING_PAIR
    async with harness(scratch_service, bootstrap_servers, [topic]) as h:
        await ensure_topics(bootstrap_servers, [dead_letter_topic(h.schema, prefix)], partitions=1)
        handled: list[str] = []
        dead: list[str] = []
        consumer = EventConsumer(
            service=h.schema,
            name="pairs",
            topics=[MATCHING_PAIR],
            pool=lambda: h.pool,
            max_attempts=2,
            backoff_initial=0.01,
            backoff_max=0.05,
            topic_prefix=prefix,
            on_dead_letter=dead.append,
        )

        async def start(conn: asyncpg.Connection[Any], pair: PairFormedV1) -> None:
            handled.append(pair.pair_id)

        consumer.handle(PairFormedV1, start)
        consumer.attach(h.broker)
        await h.broker.start()

        key = f"pair-{uuid.uuid4().hex[:6]}"
        forged = build_event(pair_formed(key, "C-src"), source="/bridge/sessions")
        genuine = build_event(pair_formed(key, "C-src"), source="/bridge/matching")
        # Same key, same partition: the forgery sits in front of the genuine event.
        for evt in (forged, genuine):
            await h.broker.publish(evt.value, topic, key=evt.key.encode(), headers=evt.headers)

        async with asyncio.timeout(20):
            while not handled:
                await asyncio.sleep(0.05)
        assert handled == [key]  # the genuine one, once; the forgery never reached the handler
        assert dead == ["UnexpectedSource"]

        letters = [
            r
            for r in await read_topic(bootstrap_servers, dead_letter_topic(h.schema, prefix), 1)
            if r.key == key.encode()
        ]
        assert len(letters) == 1
        headers = {k: v.decode() for k, v in letters[0].headers}
        assert headers["dlq_error_class"] == UnexpectedSource.__name__
        assert headers["ce_id"] == forged.id
        assert headers["dlq_original_topic"] == topic
        assert "/bridge/sessions" in headers["dlq_error"]
        assert "belongs to matching" in headers["dlq_error"]
