"""The issue's measurement, against a real subscriber: sessions, in-process, real PostgreSQL and Kafka.

A recorded `com.bridge.matching.pair.formed.v1` re-published with an added field opens the
relationship as before; the same event as `.v2` lands in sessions' dead-letter topic with the reason,
and is counted on /metrics.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from bridge_sessions.main import create_app
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts.matching import MatchExplanation, PairFormedV1
from bridge_shared.events.envelope import build_event
from bridge_shared.events.topics import dead_letter_topic
from tests.service_harness import RunningService, auth, running_service
from tests.shared.events_for_tests import person

pytestmark = pytest.mark.integration
# sessions handles pair.formed v1 and v2 (issue 14: v2 seals personal fields); v3 is the unknown version.
V2 = "com.bridge.matching.pair.formed.v3"


@pytest.fixture
async def sessions(admin_dsn: str, bootstrap_servers: str) -> AsyncIterator[RunningService]:
    async with running_service(
        create_app,
        SessionsSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        health_check_enabled=False,
    ) as svc:
        yield svc


async def _publish(
    svc: RunningService, payload: PairFormedV1, *, extra: dict[str, Any], etype: str = ""
) -> None:
    evt = build_event(payload, source="/bridge/matching")
    value = json.loads(evt.value)
    value.update(extra)
    value["mentor"]["pronouns"] = "she/her"  # added inside a nested object too
    headers = dict(evt.headers, ce_type=etype) if etype else evt.headers
    topic = svc.settings.kafka_topic_prefix + evt.topic
    await svc.runtime.broker.publish(json.dumps(value).encode(), topic, key=evt.key.encode(), headers=headers)


async def _first_letter(bootstrap: str, topic: str, key: str, timeout: float = 20.0) -> dict[str, str]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(timeout):
            while True:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for rec in records:
                        if rec.key == key.encode():
                            return {k: v.decode() for k, v in rec.headers}
    finally:
        await consumer.stop()


async def test_sessions_reads_an_added_field_as_before_and_dead_letters_a_v2(
    sessions: RunningService, bootstrap_servers: str
) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    mentor, mentee = person(f"M{tag}", "Europe/Berlin"), person(f"L{tag}", "Europe/Berlin")
    payload = PairFormedV1(
        pair_id=f"pair-{tag}",
        cohort_id=f"cohort-{tag}",
        mentor=mentor,
        mentee=mentee,
        explanation=MatchExplanation(score=0.8, breakdown={"skills": 0.8}, summary="good fit"),
        formed_at=datetime(2025, 3, 3, 9, tzinfo=UTC),
    )
    await _publish(sessions, payload, extra={"meeting_language": "en"})
    async with asyncio.timeout(20):
        while True:
            r = await sessions.client.get(
                "/relationships", headers=auth("participant", sub=mentor.employee_id)
            )
            if any(x["pair_id"] == payload.pair_id for x in r.json()):
                break
            await asyncio.sleep(0.1)

    # Same key, so it is read after the first; the first letter of this key must be the v2 one.
    await _publish(sessions, payload, extra={"meeting_language": "en"}, etype=V2)
    dlq = dead_letter_topic(sessions.settings.service_name, sessions.settings.kafka_topic_prefix)
    letter = await _first_letter(bootstrap_servers, dlq, payload.pair_id)
    assert letter["ce_type"] == V2
    assert letter["dlq_error_class"] == "UnknownEventVersion"
    assert letter["dlq_error"].startswith(f"unknown version {V2}; this consumer knows v1")
    metrics = (await sessions.client.get("/metrics")).text
    assert f'type="{V2}"' in metrics and 'action="dead_lettered"' in metrics
    assert 'bridge_dead_letters_total{consumer="pairs",error_class="UnknownEventVersion"} 1.0' in metrics
