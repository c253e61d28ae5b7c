"""Idempotent consumption, retries, dead letters and the batch path, against the real broker."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bridge_shared.events.envelope import InboundEvent, build_event, decode_payload, parse_attributes
from bridge_shared.events.topics import dead_letter_topic
from bridge_shared.messaging.broker import ensure_topics
from bridge_shared.messaging.consumer import EventConsumer
from tests.shared.events_for_tests import CONSUMER_TOPIC, ConsumedThingHappened
from tests.shared.harness import (
    Harness,
    broker_send,
    harness,
    make_relay,
    read_topic,
    start_group_at_end,
)

pytestmark = pytest.mark.integration


async def _effects(h: Harness, prefix: str) -> list[asyncpg.Record]:
    async with h.pool.acquire() as conn:
        return await conn.fetch("SELECT * FROM effects WHERE thing_id LIKE $1 || '%' ORDER BY seq", prefix)


async def _wait_for(predicate: Any, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.05)


async def _consumer(
    h: Harness,
    *,
    fail_on: set[int] | None = None,
    batch: bool = False,
    calls: list[tuple[str, int]] | None = None,
) -> EventConsumer:
    consumer = EventConsumer(
        service=h.schema,
        name=f"c{uuid.uuid4().hex[:6]}",
        topics=[CONSUMER_TOPIC],
        pool=lambda: h.pool,
        max_attempts=3,
        backoff_initial=0.01,
        backoff_max=0.05,
        batch=batch,
    )

    @consumer.on(ConsumedThingHappened)
    async def record(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        assert isinstance(event.payload, ConsumedThingHappened)
        if calls is not None:
            calls.append((event.payload.thing_id, event.payload.seq))
        await conn.execute(
            "INSERT INTO effects (event_id, thing_id, seq) VALUES ($1, $2, $3)",
            event.id,
            event.payload.thing_id,
            event.payload.seq,
        )
        if fail_on and event.payload.seq in fail_on and event.payload.thing_id.endswith("-retry"):
            raise ValueError(f"cannot handle seq {event.payload.seq}")

    await start_group_at_end(h.bootstrap, consumer.group_id, CONSUMER_TOPIC)
    consumer.attach(h.broker)
    return consumer


async def _publish(h: Harness, payload: ConsumedThingHappened, *, event_id: str | None = None) -> str:
    evt = build_event(payload, source="/tests", event_id=event_id)
    await h.broker.publish(evt.value, evt.topic, key=evt.key.encode(), headers=evt.headers)
    return evt.id


async def test_redelivered_event_has_one_effect(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    async with harness(scratch_service, bootstrap_servers, [CONSUMER_TOPIC]) as h:
        await _consumer(h)
        await h.broker.start()
        prefix = f"{h.schema}-dup"
        eid = str(uuid.uuid4())
        for _ in range(3):
            await _publish(h, ConsumedThingHappened(thing_id=prefix, seq=1), event_id=eid)
        await _publish(h, ConsumedThingHappened(thing_id=prefix, seq=2))

        async def two() -> bool:
            return len(await _effects(h, prefix)) == 2

        # seq 2 is on the same key, behind the three copies: once it took effect, they were all handled.
        await _wait_for(two)
        assert [r["seq"] for r in await _effects(h, prefix)] == [1, 2]


async def test_invalid_event_goes_to_dead_letter_with_reason_and_partition_moves_on(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    async with harness(scratch_service, bootstrap_servers, [CONSUMER_TOPIC]) as h:
        await ensure_topics(bootstrap_servers, [dead_letter_topic(h.schema)], partitions=1)
        consumer = await _consumer(h)
        await h.broker.start()
        prefix = f"{h.schema}-bad"
        good = build_event(ConsumedThingHappened(thing_id=prefix, seq=1), source="/tests")
        bad_headers = dict(good.headers, ce_id=str(uuid.uuid4()))
        # Same key, so the poison record sits in front of a good one on the same partition.
        await h.broker.publish(
            json.dumps({"thing_id": prefix, "seq": "not-a-number"}).encode(),
            CONSUMER_TOPIC,
            key=prefix.encode(),
            headers=bad_headers,
        )
        await h.broker.publish(
            b"{not json",
            CONSUMER_TOPIC,
            key=prefix.encode(),
            headers=dict(good.headers, ce_id=str(uuid.uuid4())),
        )
        await h.broker.publish(good.value, CONSUMER_TOPIC, key=prefix.encode(), headers=good.headers)

        async def processed() -> bool:
            return len(await _effects(h, prefix)) == 1

        await _wait_for(processed)
        letters = [
            r
            for r in await read_topic(bootstrap_servers, dead_letter_topic(h.schema), 2)
            if r.key == prefix.encode()
        ]
        assert len(letters) == 2
        hdrs = [{k: v.decode() for k, v in rec.headers} for rec in letters]
        for hd in hdrs:
            assert hd["dlq_original_topic"] == CONSUMER_TOPIC
            assert hd["dlq_service"] == h.schema
            assert hd["dlq_consumer"] == consumer.name
            assert int(hd["dlq_original_offset"]) >= 0 and hd["dlq_original_partition"].isdigit()
            assert hd["dlq_error_class"] == "EnvelopeError"
        errors = sorted(hd["dlq_error"] for hd in hdrs)
        assert "data is not valid JSON" in errors[0]
        assert "seq" in errors[1] and "payload does not match" in errors[1]
        assert {rec.value for rec in letters} >= {b"{not json"}


async def test_failing_handler_is_retried_then_dead_lettered_without_effects(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    async with harness(scratch_service, bootstrap_servers, [CONSUMER_TOPIC]) as h:
        await ensure_topics(bootstrap_servers, [dead_letter_topic(h.schema)], partitions=1)
        calls: list[tuple[str, int]] = []
        await _consumer(h, fail_on={1}, calls=calls)
        await h.broker.start()
        prefix = f"{h.schema}-retry"
        await _publish(h, ConsumedThingHappened(thing_id=prefix, seq=1))
        await _publish(h, ConsumedThingHappened(thing_id=prefix, seq=2))

        async def second_done() -> bool:
            return len(await _effects(h, prefix)) == 1

        await _wait_for(second_done)
        assert [r["seq"] for r in await _effects(h, prefix)] == [2], "failed attempts must roll back"
        assert calls.count((prefix, 1)) == 3
        letters = [
            r
            for r in await read_topic(bootstrap_servers, dead_letter_topic(h.schema), 100, timeout=3)
            if r.key == prefix.encode()
        ]
        assert len(letters) == 1
        hd = {k: v.decode() for k, v in letters[0].headers}
        assert hd["dlq_error_class"] == "ValueError" and hd["dlq_attempts"] == "3"
        assert "cannot handle seq 1" in hd["dlq_error"]


async def test_batch_path_handles_many_events_per_transaction_and_dedupes(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    async with harness(scratch_service, bootstrap_servers, [CONSUMER_TOPIC]) as h:
        await _consumer(h, batch=True)
        await h.broker.start()
        prefix = f"{h.schema}-batch"
        ids = [str(uuid.uuid4()) for _ in range(200)]

        async def publish_pipelined(events: list[Any]) -> None:
            # As a busy producer sends them, so the consumer sees them in batches.
            acks = [
                await h.broker.publish(
                    e.value, e.topic, key=e.key.encode(), headers=e.headers, no_confirm=True
                )
                for e in events
            ]
            await asyncio.gather(*acks)

        await publish_pipelined(
            [
                build_event(
                    ConsumedThingHappened(thing_id=f"{prefix}-{i % 7}", seq=i), source="/tests", event_id=eid
                )
                for i, eid in enumerate(ids)
            ]
        )

        async def originals_done() -> bool:
            return len(await _effects(h, prefix)) >= 200

        await _wait_for(originals_done)
        # Redeliveries of 50 of them, then a marker on the same key (so the same partition): once
        # the marker has its effect, the redeliveries before it have been consumed.
        marker = str(uuid.uuid4())
        await publish_pipelined(
            [
                build_event(
                    ConsumedThingHappened(thing_id=f"{prefix}-x", seq=-1), source="/tests", event_id=eid
                )
                for eid in ids[:50]
            ]
            + [
                build_event(
                    ConsumedThingHappened(thing_id=f"{prefix}-x", seq=1000), source="/tests", event_id=marker
                )
            ]
        )

        async def marker_done() -> bool:
            return any(r["event_id"] == marker for r in await _effects(h, prefix))

        await _wait_for(marker_done)
        rows = await _effects(h, prefix)
        assert len(rows) == 201, "a redelivered event must not have a second effect"
        assert sorted(r["seq"] for r in rows) == [*range(200), 1000]
        async with h.pool.acquire() as conn:
            tx_count = await conn.fetchval(
                "SELECT count(DISTINCT xmin::text) FROM effects WHERE thing_id LIKE $1 || '%' AND seq < 1000",
                prefix,
            )
        assert tx_count < 100, f"expected batched transactions, got {tx_count} for 200 events"


async def test_consumer_span_continues_the_producers_trace_across_the_outbox(
    scratch_service: tuple[str, str], bootstrap_servers: str, span_exporter: InMemorySpanExporter
) -> None:
    async with harness(scratch_service, bootstrap_servers, [CONSUMER_TOPIC]) as h:
        await _consumer(h)
        await h.broker.start()
        prefix = f"{h.schema}-trace"
        tracer = trace.get_tracer("tests")
        with tracer.start_as_current_span("POST /things") as request_span:
            async with h.pool.acquire() as conn, conn.transaction():
                await h.outbox.add(conn, ConsumedThingHappened(thing_id=prefix, seq=1))
        trace_id = request_span.get_span_context().trace_id
        relay = make_relay(h, broker_send(h.broker))
        await relay.drain_once()

        async def done() -> bool:
            return len(await _effects(h, prefix)) == 1

        await _wait_for(done)

        async def consumer_span_finished() -> bool:
            return any(
                s.context.trace_id == trace_id and s.kind == trace.SpanKind.CONSUMER
                for s in span_exporter.get_finished_spans()
            )

        await _wait_for(consumer_span_finished)
        spans = [s for s in span_exporter.get_finished_spans() if s.context.trace_id == trace_id]
        kinds = {s.kind for s in spans}
        assert trace.SpanKind.PRODUCER in kinds and trace.SpanKind.CONSUMER in kinds, [s.name for s in spans]
        consume = [s for s in spans if s.kind == trace.SpanKind.CONSUMER]
        assert all(s.name.startswith(("process ", "receive ")) for s in consume), [s.name for s in consume]
        assert any(
            (s.attributes or {}).get("messaging.consumer.group.name", "").startswith(f"bridge-{h.schema}.")
            for s in consume
        )
        assert any(s.name.startswith("INSERT") or "effects" in s.name for s in spans), [s.name for s in spans]


async def test_database_outage_is_not_the_events_fault_it_is_retried_not_dead_lettered(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    async with harness(scratch_service, bootstrap_servers, [CONSUMER_TOPIC]) as h:
        outage = {"left": 2}

        def flaky_pool() -> Any:
            if outage["left"] > 0:
                outage["left"] -= 1
                raise ConnectionRefusedError("database unreachable")
            return h.pool

        consumer = EventConsumer(
            service=h.schema,
            name="outage",
            topics=[CONSUMER_TOPIC],
            pool=flaky_pool,
            max_attempts=2,
            backoff_initial=0.01,
            backoff_max=0.05,
        )

        @consumer.on(ConsumedThingHappened)
        async def record(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
            assert isinstance(event.payload, ConsumedThingHappened)
            await conn.execute(
                "INSERT INTO effects (event_id, thing_id, seq) VALUES ($1, $2, $3)",
                event.id,
                event.payload.thing_id,
                event.payload.seq,
            )

        await start_group_at_end(bootstrap_servers, consumer.group_id, CONSUMER_TOPIC)
        consumer.attach(h.broker)
        await h.broker.start()
        prefix = f"{h.schema}-outage"
        await _publish(h, ConsumedThingHappened(thing_id=prefix, seq=1))

        async def done() -> bool:
            return len(await _effects(h, prefix)) == 1

        await _wait_for(done, timeout=30)
        assert outage["left"] == 0
        letters = [
            r
            for r in await read_topic(bootstrap_servers, dead_letter_topic(h.schema), 10, timeout=2)
            if r.key == prefix.encode()
        ]
        assert letters == []


async def test_a_handler_bug_in_query_arguments_is_dead_lettered_not_looped(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    # asyncpg's client-side DataError is an InterfaceError; it must not pass for a database outage.
    async with harness(scratch_service, bootstrap_servers, [CONSUMER_TOPIC]) as h:
        consumer = EventConsumer(
            service=h.schema,
            name="buggy",
            topics=[CONSUMER_TOPIC],
            pool=lambda: h.pool,
            max_attempts=2,
            backoff_initial=0.01,
            backoff_max=0.05,
        )
        prefix = f"{h.schema}-buggy"

        @consumer.on(ConsumedThingHappened)
        async def record(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
            assert isinstance(event.payload, ConsumedThingHappened)
            if event.payload.thing_id == prefix:
                await conn.execute(
                    "INSERT INTO effects (event_id, seq) VALUES ($1, $2)", event.id, "not-an-int"
                )

        await start_group_at_end(bootstrap_servers, consumer.group_id, CONSUMER_TOPIC)
        consumer.attach(h.broker)
        await h.broker.start()
        await _publish(h, ConsumedThingHappened(thing_id=prefix, seq=1))
        letters: list[Any] = []
        async with asyncio.timeout(20):
            while not letters:
                letters = [
                    r
                    for r in await read_topic(bootstrap_servers, dead_letter_topic(h.schema), 100, timeout=1)
                    if r.key == prefix.encode()
                ]
        hd = {k: v.decode() for k, v in letters[0].headers}
        assert hd["dlq_error_class"] == "DataError"
        assert hd["dlq_attempts"] == "2"


async def test_a_batch_rolled_back_to_break_a_deadlock_runs_again_whole(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    """Two consumers' batches update the same two rows in opposite orders (as notifications'
    directory and routing consumers both upsert a pair's people). PostgreSQL breaks the deadlock by
    rolling one transaction back; that batch runs again whole and takes effect once, instead of
    falling back to one event at a time."""
    async with harness(scratch_service, bootstrap_servers, [CONSUMER_TOPIC]) as h:
        async with h.pool.acquire() as conn:
            await conn.execute("CREATE TABLE hot (k text PRIMARY KEY, n int NOT NULL)")
            await conn.execute("INSERT INTO hot VALUES ('x', 0), ('y', 0)")
        both_hold_one = asyncio.Event()
        holding = [0]
        runs: list[str] = []

        def consumer(order: tuple[str, str]) -> EventConsumer:
            c = EventConsumer(
                service=h.schema,
                name=f"c{uuid.uuid4().hex[:6]}",
                topics=[CONSUMER_TOPIC],
                pool=lambda: h.pool,
                max_attempts=3,
                backoff_initial=0.01,
                backoff_max=0.05,
                batch=True,
            )

            @c.on_batch
            async def apply(conn: asyncpg.Connection[Any], events: list[InboundEvent]) -> None:
                runs.append(order[0])
                await conn.execute("UPDATE hot SET n = n + $2 WHERE k = $1", order[0], len(events))
                holding[0] += 1
                if holding[0] >= 2:
                    both_hold_one.set()
                await both_hold_one.wait()  # the first run of each holds one row; a rerun goes on
                await conn.execute("UPDATE hot SET n = n + $2 WHERE k = $1", order[1], len(events))

            return c

        def events(tag: str) -> list[InboundEvent]:
            out = []
            for i in range(3):
                evt = build_event(ConsumedThingHappened(thing_id=f"{tag}{i}", seq=i), source="/tests")
                attrs = parse_attributes(evt.headers)
                out.append(InboundEvent(attrs, decode_payload(attrs, evt.value), evt.topic, 0, i, evt.key))
            return out

        a, b = consumer(("x", "y")), consumer(("y", "x"))
        async with asyncio.timeout(30):
            applied = await asyncio.gather(a._apply_batch(events("a")), b._apply_batch(events("b")))
        assert [len(fresh) for fresh in applied] == [3, 3]
        assert len(runs) == 3  # one of the two transactions ran twice
        async with h.pool.acquire() as conn:
            counts = dict(await conn.fetch("SELECT k, n FROM hot"))
        assert counts == {"x": 6, "y": 6}  # each batch's effect once
