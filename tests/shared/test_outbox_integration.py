"""Transactional outbox against real PostgreSQL and the real broker."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bridge_devstack.kafka import KafkaCluster
from bridge_devstack.ports import free_port
from bridge_shared.messaging.broker import create_broker, ensure_topics
from tests.shared.events_for_tests import THING_TOPIC, ThingHappened
from tests.shared.harness import broker_send, harness, make_relay, read_topic

pytestmark = pytest.mark.integration


async def test_rolled_back_transaction_leaves_no_event(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        with pytest.raises(RuntimeError, match="boom"):
            async with h.pool.acquire() as conn, conn.transaction():
                await h.outbox.add(conn, ThingHappened(thing_id="a", seq=1))
                raise RuntimeError("boom")
        async with h.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
            with pytest.raises(RuntimeError, match="inside"):
                await h.outbox.add(conn, ThingHappened(thing_id="a", seq=1))


async def test_relay_publishes_in_order_per_key_with_cloudevents_headers(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        await h.broker.start()
        things = [f"{h.schema}-k{i}" for i in range(5)]
        async with h.pool.acquire() as conn:
            for seq in range(40):
                async with conn.transaction():
                    await h.outbox.add(
                        conn,
                        ThingHappened(thing_id=things[seq % 5], seq=seq),
                        subject=f"thing/{things[seq % 5]}",
                    )
        relay = make_relay(h, broker_send(h.broker), batch_size=7)
        while await relay.drain_once():
            pass
        records = [
            r
            for r in await read_topic(bootstrap_servers, THING_TOPIC, 10_000, timeout=4)
            if r.key.decode() in things
        ]
        assert len(records) == 40
        for key in things:
            seqs = [int(__import__("json").loads(r.value)["seq"]) for r in records if r.key.decode() == key]
            assert seqs == sorted(seqs) and len(seqs) == 8
        headers = dict(records[0].headers)
        assert headers["ce_specversion"] == b"1.0"
        assert headers["ce_type"] == ThingHappened.event_type.encode()
        assert headers["ce_source"] == f"/bridge/{h.schema}".encode()
        assert headers["ce_subject"].startswith(b"thing/")
        assert headers["content-type"] == b"application/json"
        assert b"ce_dataschema" in dict(records[0].headers) or "ce_dataschema" in headers
        assert "traceparent" in headers
        async with h.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


async def test_relay_wakes_on_notify_not_on_poll(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        await h.broker.start()
        relay = make_relay(h, broker_send(h.broker), idle_poll_seconds=60)
        task = asyncio.create_task(relay.run())
        try:
            for _ in range(100):
                if relay.is_leader:
                    break
                await asyncio.sleep(0.05)
            started = time.monotonic()
            async with h.pool.acquire() as conn, conn.transaction():
                await h.outbox.add(conn, ThingHappened(thing_id=f"{h.schema}-wake", seq=1))
            async with h.pool.acquire() as conn:
                while await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
                    assert time.monotonic() - started < 3, "relay did not wake on NOTIFY"
                    await asyncio.sleep(0.02)
        finally:
            await relay.stop()
            await task


async def test_rows_wait_while_broker_is_down_and_go_out_in_order_when_back(
    scratch_service: tuple[str, str], bootstrap_servers: str, tmp_path: Any
) -> None:
    port = free_port()
    topic = THING_TOPIC
    async with harness(scratch_service, bootstrap_servers, [topic]) as h:
        down_broker = create_broker(f"127.0.0.1:{port}", service=h.schema)
        attempts = 0

        async def send(row: Any) -> Any:
            nonlocal attempts
            attempts += 1
            if not hasattr(send, "started"):
                await down_broker.start()  # fails while nothing listens on the port
                send.started = True  # type: ignore[attr-defined]
            return await down_broker.publish(
                row.payload, row.topic, key=row.key.encode(), headers=row.headers, no_confirm=True
            )

        relay = make_relay(h, send, idle_poll_seconds=0.5)
        async with h.pool.acquire() as conn:
            for seq in range(10):
                async with conn.transaction():
                    await h.outbox.add(conn, ThingHappened(thing_id=f"{h.schema}-down", seq=seq))
        task = asyncio.create_task(relay.run())
        try:
            async with asyncio.timeout(30):  # until the relay has tried and failed at least once
                while relay.last_error is None:
                    await asyncio.sleep(0.1)
            async with h.pool.acquire() as conn:
                assert await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 10
                assert await conn.fetchval("SELECT max(attempts) FROM outbox") >= 1
            kafka = KafkaCluster(tmp_path / "late-kafka", port=port, fast=True).start()
            try:
                await ensure_topics(kafka.bootstrap_servers, [topic], partitions=3)
                async with h.pool.acquire() as conn:
                    for _ in range(300):
                        if not await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
                            break
                        await asyncio.sleep(0.1)
                    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
                records = await read_topic(kafka.bootstrap_servers, topic, 10)
                seqs = [int(__import__("json").loads(r.value)["seq"]) for r in records]
                assert seqs == list(range(10))
            finally:
                await relay.stop()
                await task
                await down_broker.stop()
                kafka.stop()
        finally:
            if not task.done():
                await relay.stop()
                await task


async def test_add_many_keeps_the_callers_order_in_one_statement(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        async with h.pool.acquire() as conn, conn.transaction():
            events = await h.outbox.add_many(
                conn, [(ThingHappened(thing_id=f"bulk-{i % 3}", seq=i), f"thing/{i}") for i in range(500)]
            )
        async with h.pool.acquire() as conn:
            rows = await conn.fetch("SELECT event_id, headers FROM outbox ORDER BY id")
        assert [r["event_id"] for r in rows] == [e.id for e in events]
        assert rows[7]["headers"]["ce_subject"] == "thing/7"


async def test_only_one_relay_per_service_is_active(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        await h.broker.start()
        first = make_relay(h, broker_send(h.broker), idle_poll_seconds=0.2)
        second = make_relay(h, broker_send(h.broker), idle_poll_seconds=0.2)
        tasks = [asyncio.create_task(first.run()), asyncio.create_task(second.run())]
        try:
            async with asyncio.timeout(15):
                while not (first.is_leader or second.is_leader):
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # give the other every chance to (wrongly) become leader as well
            assert [first.is_leader, second.is_leader].count(True) == 1
            leader, standby = (first, second) if first.is_leader else (second, first)
            await leader.stop()
            await tasks[0 if leader is first else 1]
            for _ in range(50):  # the standby takes over once the leader's session lock is released
                if standby.is_leader:
                    break
                await asyncio.sleep(0.1)
            assert standby.is_leader
        finally:
            await first.stop()
            await second.stop()
            await asyncio.gather(*tasks)


async def test_backlog_reports_pending_rows_as_plain_json(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        async with h.pool.acquire() as conn, conn.transaction():
            await h.outbox.add(conn, ThingHappened(thing_id="backlog", seq=1))
        backlog = await make_relay(h, broker_send(h.broker)).backlog()
        assert backlog["pending"] == 1
        assert isinstance(backlog["oldest_pending_seconds"], float)
        __import__("json").dumps(backlog)  # what /readyz serves
