"""Consumers survive rebalances: a second member joins the group while a record or batch is in flight.

Member A starts alone on a topic with three partitions and a backlog. Its first unit of work (a
batch, or one event) holds its database transaction open until A's client has started rebalancing
(member B has joined the group), and a second longer. Then both members drain the topic. A marker
event at the end of every partition says when everything before it has been handled.

What must hold:
- every event had exactly one effect, and none is missing (the effects table has no unique
  constraint, so a double effect would show);
- no event was even handed to a handler twice, across both members: the in-flight work was
  finished, and its offsets committed, before A's partitions were revoked, so the next owner
  started after it (the inbox alone would hide a re-read; this catches it);
- the group's committed offsets reach the end of every partition.

When the in-flight work outlasts the revocation timeout it is abandoned instead: its transaction
rolls back, no offset is committed for it, and the new owner handles it once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka import KafkaBroker

from bridge_shared.events.envelope import InboundEvent, build_event
from bridge_shared.messaging.broker import create_broker, ensure_topics
from bridge_shared.messaging.consumer import EventConsumer
from tests.conftest import unique_topic
from tests.shared.events_for_tests import ThingHappened
from tests.shared.harness import Harness, harness

pytestmark = pytest.mark.integration

PARTITIONS = 3
MARKER_SEQ = -1


def _event_id(rec: Any) -> str:
    return dict(rec.headers or ())["ce_id"].decode()


class CountingConsumer(EventConsumer):
    """Counts, per event id, the records this member was handed to process (before the inbox)."""

    def __init__(self, deliveries: Counter[str], **kw: Any) -> None:
        super().__init__(**kw)
        self.deliveries = deliveries

    async def process(self, rec: Any, *args: Any) -> None:
        self.deliveries[_event_id(rec)] += 1
        await super().process(rec, *args)

    async def process_batch(self, records: list[Any], *args: Any) -> None:
        for rec in records:
            self.deliveries[_event_id(rec)] += 1
        await super().process_batch(records, *args)


@dataclass
class Member:
    name: str
    broker: KafkaBroker
    consumer: CountingConsumer
    deliveries: Counter[str] = field(default_factory=Counter)
    invocations: Counter[str] = field(default_factory=Counter)


@dataclass
class Scenario:
    h: Harness
    topic: str
    batch: bool
    hold_after_revoke: float
    revoke_timeout: float
    first_unit_started: asyncio.Event = field(default_factory=asyncio.Event)
    first_unit_saw_revocation: bool = False
    first_unit_ids: list[str] = field(default_factory=list)

    @property
    def group_id(self) -> str:
        return f"bridge-{self.h.schema}.rebalance"


def _kafka_consumer(broker: KafkaBroker, group_id: str) -> AIOKafkaConsumer:
    (sub,) = [s for s in broker.subscribers if getattr(s, "group_id", None) == group_id]
    consumer = sub.consumer
    assert isinstance(consumer, AIOKafkaConsumer)
    return consumer


async def _wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not await predicate():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None


def _member(sc: Scenario, name: str, broker: KafkaBroker) -> Member:
    deliveries: Counter[str] = Counter()
    consumer = CountingConsumer(
        deliveries,
        service=sc.h.schema,
        name="rebalance",
        topics=[sc.topic],
        pool=lambda: sc.h.pool,
        max_attempts=3,
        backoff_initial=0.01,
        backoff_max=0.05,
        batch=sc.batch,
        batch_max_records=100,
        revoke_timeout=sc.revoke_timeout,
    )
    member = Member(name, broker, consumer, deliveries)

    async def effects(conn: asyncpg.Connection[Any], events: list[InboundEvent]) -> None:
        # Outside the inbox's protection: counts every time the handler ran for an event.
        for e in events:
            member.invocations[e.id] += 1
        await conn.executemany(
            "INSERT INTO rebalance_effects (event_id, member) VALUES ($1, $2)",
            [(e.id, name) for e in events],
        )
        if name == "a" and not sc.first_unit_started.is_set():
            sc.first_unit_started.set()
            sc.first_unit_ids.extend(e.id for e in events)
            # Hold this unit, inside its transaction, until A's client is rebalancing (B joined)...
            kafka = _kafka_consumer(broker, sc.group_id)
            generation = kafka._coordinator.generation

            async def rebalancing() -> bool:
                # In progress (a consumer that waits holds it there), or already over (one that doesn't).
                return bool(kafka._subscription.reassignment_in_progress) or (
                    kafka._coordinator.generation != generation
                )

            await _wait_for(rebalancing, 30, "member A to start rebalancing")
            sc.first_unit_saw_revocation = True
            # ...and a while longer: a consumer that does not wait for it would rejoin meanwhile.
            await asyncio.sleep(sc.hold_after_revoke)
        else:
            await asyncio.sleep(0.02 if sc.batch else 0.002)

    @consumer.on(ThingHappened)
    async def one(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        await effects(conn, [event])

    if sc.batch:
        consumer.on_batch(effects)
    consumer.attach(broker)
    return member


async def _publish_backlog(bootstrap: str, sc: Scenario, n: int) -> tuple[list[str], list[str]]:
    producer = create_broker(bootstrap, service=f"{sc.h.schema}-producer")
    await producer.start()
    try:
        ids: list[str] = []
        pending = []
        for i in range(n):
            evt = build_event(ThingHappened(thing_id=f"thing-{i % 60}", seq=i), source="/tests")
            ids.append(evt.id)
            pending.append(
                await producer.publish(
                    evt.value, sc.topic, key=evt.key.encode(), headers=evt.headers, no_confirm=True
                )
            )
        markers: list[str] = []
        for p in range(PARTITIONS):  # one marker at the end of every partition
            evt = build_event(ThingHappened(thing_id=f"marker-{p}", seq=MARKER_SEQ), source="/tests")
            markers.append(evt.id)
            pending.append(
                await producer.publish(
                    evt.value,
                    sc.topic,
                    key=evt.key.encode(),
                    headers=evt.headers,
                    partition=p,
                    no_confirm=True,
                )
            )
        await asyncio.gather(*pending)
        return ids, markers
    finally:
        await producer.stop()


async def _committed_and_end_offsets(
    bootstrap: str, sc: Scenario
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    tps = [TopicPartition(sc.topic, p) for p in range(PARTITIONS)]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await reader.start()
    try:
        committed = await admin.list_consumer_group_offsets(sc.group_id, partitions=tps)
        end = await reader.end_offsets(tps)
    finally:
        await reader.stop()
        await admin.close()
    return {tp: committed[tp].offset for tp in tps if tp in committed}, dict(end)


async def _run(
    scratch: tuple[str, str],
    bootstrap: str,
    *,
    batch: bool,
    n: int,
    hold_after_revoke: float = 1.0,
    revoke_timeout: float = 20.0,
) -> tuple[Scenario, Member, Member, list[str], list[asyncpg.Record]]:
    topic = unique_topic("rebalance")
    await ensure_topics(bootstrap, [topic], partitions=PARTITIONS)
    async with harness(scratch, bootstrap, [topic]) as h:
        async with h.pool.acquire() as conn:
            # Deliberately no unique constraint: a second effect of one event would be a second row.
            await conn.execute(
                "CREATE TABLE rebalance_effects (event_id text NOT NULL, member text NOT NULL)"
            )
        sc = Scenario(h, topic, batch, hold_after_revoke, revoke_timeout)
        ids, markers = await _publish_backlog(bootstrap, sc, n)

        a = _member(sc, "a", h.broker)
        await h.broker.start()

        async def first_unit_started() -> bool:
            return sc.first_unit_started.is_set()

        await _wait_for(first_unit_started, 60, "member A's first unit")

        b = _member(sc, "b", create_broker(bootstrap, service=f"{h.schema}-b"))
        await b.broker.start()
        try:

            async def markers_done() -> bool:
                async with h.pool.acquire() as conn:
                    done = await conn.fetchval(
                        "SELECT count(DISTINCT event_id) FROM rebalance_effects WHERE event_id = ANY($1)",
                        markers,
                    )
                return int(done) == len(markers)

            await _wait_for(markers_done, 120, "the marker at the end of every partition")

            async def all_committed() -> bool:
                committed, end = await _committed_and_end_offsets(bootstrap, sc)
                return committed == end

            await _wait_for(all_committed, 30, "the group's committed offsets to reach the end offsets")
            async with h.pool.acquire() as conn:
                rows = await conn.fetch("SELECT event_id, member FROM rebalance_effects")
        finally:
            await b.broker.stop()
    return sc, a, b, ids + markers, rows


def _report(sc: Scenario, a: Member, b: Member) -> str:
    stats = {m.name: getattr(m.consumer, "rebalances", None) for m in (a, b)}
    return (
        f"deliveries a={sum(a.deliveries.values())} b={sum(b.deliveries.values())}; "
        f"handler runs a={sum(a.invocations.values())} b={sum(b.invocations.values())}; stats={stats}"
    )


def _assert_once_each(sc: Scenario, a: Member, b: Member, ids: list[str], rows: list[asyncpg.Record]) -> None:
    effects = Counter(r["event_id"] for r in rows)
    missing = [i for i in ids if effects[i] == 0]
    doubled = {i: c for i, c in effects.items() if c > 1}
    assert not missing, f"{len(missing)} events had no effect; {_report(sc, a, b)}"
    assert not doubled, f"{len(doubled)} events had more than one effect; {_report(sc, a, b)}"
    assert set(effects) == set(ids)
    # Both members did part of the work: the group really was rebalanced between them.
    by_member = Counter(r["member"] for r in rows)
    assert by_member["a"] > 0 and by_member["b"] > 0, by_member
    assert sc.first_unit_saw_revocation, "A's first unit must have been in flight when A was revoked"


@pytest.mark.parametrize(("batch", "n"), [(True, 2000), (False, 300)], ids=["batch", "one-at-a-time"])
async def test_second_member_joining_mid_flight_causes_no_double_effect_no_loss_and_no_reread(
    scratch_service: tuple[str, str], bootstrap_servers: str, batch: bool, n: int
) -> None:
    sc, a, b, ids, rows = await _run(scratch_service, bootstrap_servers, batch=batch, n=n)
    _assert_once_each(sc, a, b, ids, rows)
    # Finished before revoke: no record was handed to a handler twice, by either member.
    delivered = a.deliveries + b.deliveries
    reread = {i: c for i, c in delivered.items() if c > 1}
    assert not reread, (
        f"{len(reread)} events were read again after the rebalance "
        f"(first unit: {len(sc.first_unit_ids)} events, "
        f"{sum(1 for i in sc.first_unit_ids if i in reread)} of them re-read); {_report(sc, a, b)}"
    )
    assert set(delivered) == set(ids)
    runs = a.invocations + b.invocations
    assert all(runs[i] == 1 for i in ids), _report(sc, a, b)
    assert a.consumer.rebalances.waited_for_in_flight >= 1, _report(sc, a, b)
    assert a.consumer.rebalances.abandoned == 0, _report(sc, a, b)


async def test_in_flight_work_that_outlasts_the_revocation_timeout_is_abandoned_and_redone_once(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    # The first batch holds its transaction far longer than the revocation waits: it is cancelled,
    # rolls back, its offsets are not committed, and whoever owns the partitions next handles it.
    sc, a, b, ids, rows = await _run(
        scratch_service, bootstrap_servers, batch=True, n=600, hold_after_revoke=30.0, revoke_timeout=1.0
    )
    _assert_once_each(sc, a, b, ids, rows)
    assert a.consumer.rebalances.abandoned == 1, _report(sc, a, b)
    runs = a.invocations + b.invocations
    # The abandoned unit's handler ran, rolled back, and ran again for real; everything else once.
    assert sc.first_unit_ids and all(runs[i] == 2 for i in sc.first_unit_ids), _report(sc, a, b)
    assert all(runs[i] == 1 for i in ids if i not in set(sc.first_unit_ids)), _report(sc, a, b)
