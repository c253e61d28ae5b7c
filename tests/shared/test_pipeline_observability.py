"""What an SRE watches on a running service (real PostgreSQL, real Kafka): the end-to-end probe's
round trip and lost probes, consumer lag per partition, and readiness as a gauge."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer
from prometheus_client.parser import text_string_to_metric_families

from bridge_sessions.main import create_app
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts.matching import CohortCreatedV1
from bridge_shared.events.envelope import build_event
from bridge_shared.events.examples import example_payload
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.sources import owner_source
from tests.service_harness import RunningService, publish_event, running_service

pytestmark = pytest.mark.integration

Samples = list[tuple[str, dict[str, str], float]]


@pytest.fixture
async def sessions(admin_dsn: str, bootstrap_servers: str) -> AsyncIterator[RunningService]:
    async with running_service(
        create_app,
        SessionsSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        health_check_enabled=False,
        retention_enabled=False,
        probe_interval_seconds=0.3,
        probe_timeout_seconds=5.0,
        outbox_idle_poll_seconds=0.2,
    ) as svc:
        yield svc


async def scrape(svc: RunningService) -> Samples:
    r = await svc.client.get("/metrics")
    assert r.status_code == 200
    return [
        (s.name, s.labels, s.value) for fam in text_string_to_metric_families(r.text) for s in fam.samples
    ]


def value(samples: Samples, name: str, **labels: str) -> float | None:
    found = [v for n, lab, v in samples if n == name and all(lab.get(k) == x for k, x in labels.items())]
    return sum(found) if found else None


async def eventually(svc: RunningService, check: str, ok: object, timeout: float = 30.0) -> Samples:
    deadline = time.monotonic() + timeout
    while True:
        samples = await scrape(svc)
        if callable(ok) and ok(samples):
            return samples
        assert time.monotonic() < deadline, f"timed out waiting for {check}: {samples}"
        await asyncio.sleep(0.2)


def consumer_named(svc: RunningService, name: str) -> EventConsumer:
    consumers: list[EventConsumer] = svc.runtime.extras["consumers"]
    return next(c for c in consumers if c.name == name)


async def test_probes_make_the_round_trip_through_outbox_kafka_and_consumer(sessions: RunningService) -> None:
    samples = await eventually(
        sessions,
        "three probes back",
        lambda s: (value(s, "bridge_probe_round_trip_seconds_count") or 0) >= 3,
    )
    assert (value(samples, "bridge_probe_sent_total") or 0) >= 3
    assert value(samples, "bridge_probe_lost_total") == 0
    # Every observed round trip is in the table as received; none is lost.
    async with sessions.runtime.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE received_at IS NOT NULL) AS received, "
            "count(*) FILTER (WHERE lost_at IS NOT NULL) AS lost, "
            "max(extract(epoch FROM received_at - sent_at)) AS slowest FROM pipeline_probes"
        )
    assert row["received"] >= 3 and row["lost"] == 0
    assert 0 < row["slowest"] < 10
    # The probe group consumes the service's own probe topic.
    probe = consumer_named(sessions, "probe")
    assert probe.topics == [sessions.settings.kafka_topic_prefix + "bridge.sessions.probe"]


async def test_a_probe_that_never_arrives_is_counted_lost_once(sessions: RunningService) -> None:
    # A probe row whose event never reached the outbox: what a probe lost on the way looks like.
    async with sessions.runtime.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO pipeline_probes (probe_id, instance, sent_at) VALUES ('lost-1', 'gone', now() - interval '1 minute')"
        )

    async def lost_rows() -> int:
        async with sessions.runtime.pool.acquire() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM pipeline_probes WHERE lost_at IS NOT NULL"))

    async def counted_once() -> Samples:
        """The counter against the rows marked lost, read before and after it: each lost probe is
        counted once, never again. (On a starved machine the service's own probes may miss their
        5 s too, and are rightly counted: so the counter is compared with the rows, not with 1.)"""
        low = await lost_rows()
        samples = await eventually(sessions, "a scrape", lambda s: True)
        high = await lost_rows()
        counted = value(samples, "bridge_probe_lost_total") or 0
        assert low <= counted <= high, (low, counted, high)
        return samples

    await eventually(sessions, "the lost probe", lambda s: (value(s, "bridge_probe_lost_total") or 0) >= 1)
    samples = await counted_once()
    async with sessions.runtime.pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT lost_at IS NOT NULL FROM pipeline_probes WHERE probe_id = 'lost-1'"
        )
    # Later ticks do not count it again, while fresh probes keep arriving.
    before = value(samples, "bridge_probe_round_trip_seconds_count") or 0
    await eventually(
        sessions,
        "more probes after the lost one",
        lambda s: (value(s, "bridge_probe_round_trip_seconds_count") or 0) >= before + 3,
    )
    await counted_once()


async def test_consumer_lag_counts_records_a_paused_consumer_has_not_committed(
    sessions: RunningService,
) -> None:
    cohorts = consumer_named(sessions, "cohorts")
    group = cohorts.group_id
    parts = sessions.settings.kafka_topic_partitions

    def assigned(s: Samples) -> bool:
        return value(s, "bridge_kafka_consumer_assigned_partitions", group=group) == parts

    await eventually(sessions, "the cohorts group's partitions", assigned)
    client = cohorts._subscription.consumer
    assert isinstance(client, AIOKafkaConsumer)
    client.pause(*client.assignment())
    try:
        topic = sessions.settings.kafka_topic_prefix + CohortCreatedV1.topic
        for i in range(5):
            payload = CohortCreatedV1.model_validate(
                {**example_payload(CohortCreatedV1), "cohort_id": f"lag-{i}"}
            )
            await publish_event(sessions, build_event(payload, source=owner_source(CohortCreatedV1.topic)))
        samples = await eventually(
            sessions,
            "a lag of 5 on the cohort topic",
            lambda s: value(s, "bridge_kafka_consumer_lag", group=group, topic=topic) == 5,
        )
        per_partition = [
            v for n, lab, v in samples if n == "bridge_kafka_consumer_lag" and lab["group"] == group
        ]
        assert len(per_partition) == parts
    finally:
        client.resume(*client.assignment())
    await eventually(
        sessions,
        "the lag back to 0",
        lambda s: value(s, "bridge_kafka_consumer_lag", group=group, topic=topic) == 0,
    )


async def test_readiness_gauges_follow_the_database(sessions: RunningService) -> None:
    samples = await eventually(sessions, "ready", lambda s: value(s, "bridge_ready") == 1)
    assert value(samples, "bridge_degraded") == 0
    # A parked outbox row makes the service degraded, still ready.
    async with sessions.runtime.pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO outbox (event_id, topic, partition_key, event_type, headers, payload,
                                   parked_at, parked_reason)
               VALUES ('parked-1', 'bridge.sessions.relationship', 'k', 'x', '{}', '\\x00', now(), 'test')"""
        )
    samples = await eventually(sessions, "degraded", lambda s: value(s, "bridge_degraded") == 1)
    assert value(samples, "bridge_ready") == 1
