"""Outbox relay correctness against real PostgreSQL and the real broker: fenced leadership, per-key
order when sends fail, parking, write-time size limits and pruning."""

from __future__ import annotations

import asyncio
import collections
import sys
import time
import uuid
from typing import Any

import asyncpg
import pytest
from aiokafka import errors as kafka_errors
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker

from bridge_shared.outbox.monitor import pool_outbox_status
from bridge_shared.outbox.pruning import prune_once, run_pruner
from bridge_shared.outbox.relay import PIPELINED_BATCHES, OutboxRelay, PendingRow
from bridge_shared.outbox.sender import send_now
from bridge_shared.outbox.writer import EventTooLarge, Outbox
from tests.shared.events_for_tests import THING_TOPIC, ThingHappened
from tests.shared.harness import Harness, broker_send, harness, make_relay
from tests.shared.outbox_support import (
    event_ids,
    insert_raw,
    published_prefix_holds,
    read_all,
    seqs_by_key,
)

pytestmark = pytest.mark.integration


async def _unpublished(h: Harness) -> int:
    async with h.pool.acquire() as conn:
        n: int = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        return n


async def _wait_until(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def _stop(relays: list[OutboxRelay], tasks: list[asyncio.Task[None]]) -> None:
    for r in relays:
        await r.stop()
    await asyncio.gather(*tasks)


# ------------------------------------------------------------------------------- 1. fencing


async def test_killed_lock_session_mid_backlog_publishes_every_event_exactly_once_in_key_order(
    scratch_service: tuple[str, str], bootstrap_servers: str, admin_dsn: str
) -> None:
    """Two relays, a 600-row backlog; the leader's lock session is terminated twice while it is in
    the middle of sending a batch, and the old leader keeps sending for a second afterwards. The
    standby takes the lock at once but must not publish until the old leader is done."""
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        await h.broker.start()
        keys = [f"{h.schema}-f{i:02d}" for i in range(20)]
        n = 600
        async with h.pool.acquire() as conn, conn.transaction():
            await h.outbox.add_many(
                conn, [(ThingHappened(thing_id=keys[i % 20], seq=i), None) for i in range(n)]
            )
        admin = await asyncpg.connect(admin_dsn)
        real = broker_send(h.broker)
        relays: list[OutboxRelay] = []
        sends = 0
        kills: list[tuple[int, int | None]] = []  # (terminated pid, epoch of the leader killed)

        def sender(me: int) -> Any:
            async def send(row: PendingRow) -> Any:
                nonlocal sends
                sends += 1
                relay = relays[me]
                if sends in (150, 380) and relay.is_leader and relay.lock_pid is not None:
                    kills.append((relay.lock_pid, relay.epoch))
                    assert await admin.fetchval("SELECT pg_terminate_backend($1)", relay.lock_pid)
                    await asyncio.sleep(1.0)  # the old leader is still sending after losing its lock
                return await real(row)

            return send

        for i in range(2):
            relays.append(
                make_relay(
                    h,
                    sender(i),
                    batch_size=50,
                    idle_poll_seconds=0.1,
                    send_timeout_seconds=6,
                    lease_seconds=10,
                )
            )
        tasks = [asyncio.create_task(r.run()) for r in relays]
        try:

            async def drained() -> bool:
                return await _unpublished(h) == 0

            await _wait_until(drained, timeout=90, what="the backlog to drain")
        finally:
            await _stop(relays, tasks)
            epoch = await admin.fetchval(f'SELECT epoch FROM "{h.schema}".outbox_relay_lease')
            await admin.close()
        assert len(kills) == 2, kills
        assert epoch >= 3, "each kill must hand the lease to a new epoch"

        records = await read_all(bootstrap_servers, THING_TOPIC, set(keys))
        ids = event_ids(records)
        dupes = {i: c for i, c in collections.Counter(ids).items() if c > 1}
        assert not dupes, f"{len(dupes)} events published more than once"
        assert len(ids) == n
        for key, seqs in seqs_by_key(records).items():
            assert seqs == sorted(seqs), f"order broken for {key}"


async def test_standby_waits_out_an_unexpired_lease_before_publishing(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    """A leader that vanished without releasing (crashed, frozen, partitioned) may still have sends in
    flight: the next relay gets the advisory lock but publishes only once the lease expires."""
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        await h.broker.start()
        async with h.pool.acquire() as conn:
            await conn.execute(
                "UPDATE outbox_relay_lease SET epoch = 7, holder = 'ghost', expires_at = now() + interval '2 s'"
            )
            async with conn.transaction():
                await h.outbox.add(conn, ThingHappened(thing_id=f"{h.schema}-lease", seq=1))
        relay = make_relay(
            h, broker_send(h.broker), idle_poll_seconds=0.1, send_timeout_seconds=1, lease_seconds=2
        )
        started = time.monotonic()
        task = asyncio.create_task(relay.run())
        try:

            async def drained() -> bool:
                return await _unpublished(h) == 0

            await asyncio.sleep(1.0)
            assert await _unpublished(h) == 1 and not relay.is_leader
            await _wait_until(drained, timeout=10, what="publishing after the lease expired")
            assert time.monotonic() - started >= 1.8
            assert relay.epoch == 8
        finally:
            await _stop([relay], [task])


async def test_a_fenced_leader_stops_publishing(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    """Once another relay has taken the lease (epoch bumped), the old one neither reads nor marks rows."""
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        await h.broker.start()
        sent: list[int] = []
        real = broker_send(h.broker)

        async def send(row: PendingRow) -> Any:
            sent.append(row.id)
            return await real(row)

        relay = make_relay(h, send, idle_poll_seconds=0.1)
        task = asyncio.create_task(relay.run())
        try:
            await _wait_until(lambda: asyncio.sleep(0, relay.is_leader), what="leadership")
            async with h.pool.acquire() as conn:
                # Another relay takes over (as it would after this one's lease expired).
                await conn.execute("UPDATE outbox_relay_lease SET epoch = epoch + 1, holder = 'other'")
                async with conn.transaction():
                    await h.outbox.add(conn, ThingHappened(thing_id=f"{h.schema}-fenced", seq=1))
            await _wait_until(lambda: asyncio.sleep(0, not relay.is_leader), what="the relay to step down")
            assert sent == []  # fenced: it stepped down without sending the row
            assert await _unpublished(h) == 1
        finally:
            await _stop([relay], [task])


# ------------------------------------------------------------------------ 2. per-key order


async def test_failed_sends_never_let_a_later_row_of_the_key_overtake(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    """Some sends fail after a delay (as a batch that expires while the broker flaps) while others
    succeed at once. On the topic and in what is marked published, each key's rows stay in order."""
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        await h.broker.start()
        keys = [f"{h.schema}-o{i}" for i in range(10)]
        n = 400
        async with h.pool.acquire() as conn, conn.transaction():
            events = await h.outbox.add_many(
                conn, [(ThingHappened(thing_id=keys[i % 10], seq=i), None) for i in range(n)]
            )
        flaky = {e.id for i, e in enumerate(events) if i % 7 == 3}
        failures: collections.Counter[str] = collections.Counter()
        real = broker_send(h.broker)
        loop = asyncio.get_running_loop()

        async def send(row: PendingRow) -> Any:
            if row.event_id in flaky and failures[row.event_id] < 2:
                failures[row.event_id] += 1
                ack: asyncio.Future[Any] = loop.create_future()
                loop.call_later(0.03, ack.set_exception, kafka_errors.KafkaTimeoutError("batch expired"))
                return ack
            return await real(row)

        relay = make_relay(h, send, batch_size=60, idle_poll_seconds=0.1)
        violations: list[str] = []

        async def watch() -> None:
            while True:
                async with h.pool.acquire() as conn:
                    violations.extend(await published_prefix_holds(conn))
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch())
        task = asyncio.create_task(relay.run())
        try:

            async def drained() -> bool:
                return await _unpublished(h) == 0

            await _wait_until(drained, timeout=90, what="the backlog to drain")
        finally:
            watcher.cancel()
            await _stop([relay], [task])
        assert sum(failures.values()) == 2 * len(flaky)
        assert not violations, f"published rows were not a per-key prefix for {sorted(set(violations))}"
        records = await read_all(bootstrap_servers, THING_TOPIC, set(keys))
        assert len(records) == n and len(set(event_ids(records))) == n
        expected = {k: [i for i in range(n) if keys[i % 10] == k] for k in keys}
        assert seqs_by_key(records) == expected
        async with h.pool.acquire() as conn:
            attempts = await conn.fetchval(
                "SELECT max(attempts) FROM outbox WHERE event_id = ANY($1::text[])", list(flaky)
            )
        assert attempts == 3


async def test_one_drain_publishes_full_batches_back_to_back_sending_each_row_once(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    """A drain claims the next batch while the previous one's outcomes are still being recorded
    (PIPELINED_BATCHES batches while claims come back full): the rows being recorded are left out
    of that claim, so no row is sent twice, and each key's rows go out in order."""
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        await h.broker.start()
        keys = [f"{h.schema}-p{i}" for i in range(5)]
        batch, n = 10, 10 * PIPELINED_BATCHES + 15
        async with h.pool.acquire() as conn, conn.transaction():
            await h.outbox.add_many(
                conn, [(ThingHappened(thing_id=keys[i % 5], seq=i), None) for i in range(n)]
            )
        sent: collections.Counter[str] = collections.Counter()
        real = broker_send(h.broker)

        async def send(row: PendingRow) -> Any:
            sent[row.event_id] += 1
            return await real(row)

        relay = make_relay(h, send, batch_size=batch)
        async with relay.leadership():
            assert await relay.drain_once() == batch * PIPELINED_BATCHES  # one drain, eight batches
            assert await relay.drain_once() == n - batch * PIPELINED_BATCHES  # the short last claim
            assert await relay.drain_once() == 0
        assert len(sent) == n and set(sent.values()) == {1}
        assert await _unpublished(h) == 0
        records = await read_all(bootstrap_servers, THING_TOPIC, set(keys))
        assert len(records) == n and len(set(event_ids(records))) == n
        assert seqs_by_key(records) == {k: [i for i in range(n) if keys[i % 5] == k] for k in keys}


async def test_waves_do_not_wait_out_the_producers_linger(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    """Each wave (one row per key) waits for its acks before the next: with `send_now` the producer
    sends a wave's records at once instead of when its batches' linger runs out. Here the producer
    lingers 20 s, so three waves that waited it out would take a minute; the drain takes less than
    one linger, and the key's rows go out in order."""
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        lingering = KafkaBroker(bootstrap_servers, acks="all", enable_idempotence=True, linger_ms=20_000)
        await lingering.start()
        try:
            key = f"{h.schema}-w"
            async with h.pool.acquire() as conn, conn.transaction():
                await h.outbox.add_many(conn, [(ThingHappened(thing_id=key, seq=i), None) for i in range(3)])
            relay = make_relay(
                h,
                broker_send(lingering),
                send_now=send_now(lingering),
                send_timeout_seconds=40,
                lease_seconds=60,
            )
            async with relay.leadership(), asyncio.timeout(15):  # a third of the three waves' lingers
                assert await relay.drain_once() == 3
        finally:
            await lingering.stop()
        assert await _unpublished(h) == 0
        records = await read_all(bootstrap_servers, THING_TOPIC, {key})
        assert seqs_by_key(records) == {key: [0, 1, 2]}


async def test_a_send_acked_after_the_timeout_is_not_resent_and_is_recorded_when_it_lands(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    """A send whose ack outlives the send timeout stays in the producer and may still land: it is not
    sent again meanwhile (no pile of copies), its key waits, other keys go on, and once the ack comes
    the row is marked published and the key continues, in order."""
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        await h.broker.start()
        slow, other = f"{h.schema}-slow", f"{h.schema}-other"
        async with h.pool.acquire() as conn:
            slow1 = await insert_raw(conn, slow, 1)
            await insert_raw(conn, other, 1)
            await insert_raw(conn, slow, 2)
            await insert_raw(conn, other, 2)
            slow1_event = await conn.fetchval("SELECT event_id FROM outbox WHERE id = $1", slow1)
        real = broker_send(h.broker)
        sends: collections.Counter[str] = collections.Counter()

        async def send(row: PendingRow) -> Any:
            sends[row.event_id] += 1
            if row.event_id == slow1_event:

                async def late() -> Any:
                    await asyncio.sleep(2.0)
                    return await (await real(row))

                return asyncio.ensure_future(late())
            return await real(row)

        relay = make_relay(h, send, idle_poll_seconds=10, send_timeout_seconds=0.5, lease_seconds=3)
        task = asyncio.create_task(relay.run())
        try:

            async def others_out() -> bool:
                rows = await _raw_rows(h)
                return all(r["published_at"] is not None for r in rows if r["partition_key"] == other)

            await _wait_until(others_out, timeout=10, what="the other key to go out")
            rows = {r["id"]: r for r in await _raw_rows(h)}
            assert rows[slow1]["published_at"] is None and "no broker ack" in rows[slow1]["last_error"]

            async def drained() -> bool:
                return await _unpublished(h) == 0

            await _wait_until(drained, timeout=10, what="the late ack to be recorded")
        finally:
            await _stop([relay], [task])
        assert sends[slow1_event] == 1
        records = await read_all(bootstrap_servers, THING_TOPIC, {slow, other})
        assert seqs_by_key(records) == {slow: [1, 2], other: [1, 2]}


# ------------------------------------------------------------------------------ 3. parking


async def test_unpublishable_rows_are_parked_hold_their_key_and_are_released_by_the_tool(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        await h.broker.start()
        a, b, c, d = (f"{h.schema}-{x}" for x in "abcd")
        rejecting = {"on": True}
        real = broker_send(h.broker)
        ids: dict[str, int] = {}
        async with h.pool.acquire() as conn:
            ids["a1"] = await insert_raw(conn, a, 1)
            ids["a2"] = await insert_raw(conn, a, 2, note="x" * 1_100_000)  # too large
            ids["b1"] = await insert_raw(conn, b, 1)
            ids["c1"] = await insert_raw(conn, c, 1, headers={"ce_id": "c1", "ce_type": 7})  # unserialisable
            ids["d1"] = await insert_raw(conn, d, 1)
            ids["a3"] = await insert_raw(conn, a, 3)
            ids["d2"] = await insert_raw(conn, d, 2)
            ids["b2"] = await insert_raw(conn, b, 2)
            ids["a4"] = await insert_raw(conn, a, 4)
        d1_event = await _event_id(h, ids["d1"])

        async def send(row: PendingRow) -> Any:
            if row.event_id == d1_event and rejecting["on"]:
                raise kafka_errors.PolicyViolationError("rejected by a broker policy")
            return await real(row)

        relay = make_relay(h, send, idle_poll_seconds=0.1, max_attempts=3)
        task = asyncio.create_task(relay.run())
        try:

            async def settled() -> bool:
                s = await pool_outbox_status(h.pool)
                return s["parked"] == 3 and s["pending"] == 3

            await _wait_until(settled, timeout=30, what="three parked rows")
            rows = await _rows(h)
            assert rows["a2"]["parked_reason"].startswith("Unpublishable: too large")
            assert rows["a2"]["attempts"] == 1
            assert rows["c1"]["parked_reason"].startswith("Unpublishable: unserialisable")
            assert rows["d1"]["parked_reason"].startswith("PolicyViolationError")
            assert rows["d1"]["attempts"] == 3 and rows["d1"]["rejections"] == 3
            # Other keys are never blocked; the parked rows' own keys wait behind them.
            assert all(rows[k]["published_at"] is not None for k in ("a1", "b1", "b2"))
            assert all(rows[k]["published_at"] is None for k in ("a3", "a4", "d2"))
            assert (await pool_outbox_status(h.pool))["held"] == 3

            listing = await _tool(h, "list")
            for k in ("a2", "c1", "d1"):
                assert str(ids[k]) in listing
            assert "too large" in listing and "PolicyViolationError" in listing
            assert "3 parked row(s)" in listing and "(3 waiting behind parked rows)" in listing

            rejecting["on"] = False  # the cause is fixed
            assert "1 row(s) returned to the relay" in await _tool(h, "retry", "--id", str(ids["d1"]))
            assert "1 row(s) discarded" in await _tool(h, "discard", "--id", str(ids["a2"]))

            async def released() -> bool:
                r = await _rows(h)
                return all(r[k]["published_at"] is not None for k in ("d1", "d2", "a3", "a4"))

            await _wait_until(released, timeout=20, what="released rows to go out")
            # c1 still cannot be serialised: a retry parks it again.
            assert "1 row(s) returned" in await _tool(h, "retry", "--all")

            async def reparked() -> bool:
                return (await _rows(h))["c1"]["parked_at"] is not None

            await _wait_until(reparked, timeout=20, what="c1 to be parked again")
        finally:
            await _stop([relay], [task])
        records = await read_all(bootstrap_servers, THING_TOPIC, {a, b, d})
        assert seqs_by_key(records) == {a: [1, 3, 4], b: [1, 2], d: [1, 2]}


async def test_a_record_the_producer_refuses_as_too_large_is_parked_at_once(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    """Without the relay's own size check, the Kafka client refuses the record (MessageSizeTooLarge):
    parked after one attempt, never retried in a loop."""
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        await h.broker.start()
        big, other = f"{h.schema}-big", f"{h.schema}-other"
        async with h.pool.acquire() as conn:
            big1 = await insert_raw(conn, big, 1, note="y" * 1_200_000)
            await insert_raw(conn, big, 2)
            await insert_raw(conn, other, 1)
        relay = make_relay(h, broker_send(h.broker), max_event_bytes=10_000_000)
        assert await relay.drain_once() == 2  # parked + other key's row published
        assert await relay.drain_once() == 0  # big's second row waits behind the parked one
        rows = {r["id"]: r for r in await _raw_rows(h)}
        assert rows[big1]["parked_reason"].startswith("MessageSizeTooLargeError")
        assert rows[big1]["attempts"] == 1
        status = await pool_outbox_status(h.pool)
        assert (status["pending"], status["parked"], status["held"]) == (1, 1, 1)


async def _event_id(h: Harness, row_id: int) -> str:
    async with h.pool.acquire() as conn:
        eid: str = await conn.fetchval("SELECT event_id FROM outbox WHERE id = $1", row_id)
        return eid


async def _raw_rows(h: Harness) -> list[Any]:
    async with h.pool.acquire() as conn:
        return list(await conn.fetch("SELECT * FROM outbox ORDER BY id"))


async def _rows(h: Harness) -> dict[str, Any]:
    """Rows by name (a1, a2, ...) = key suffix + seq."""
    out = {}
    for r in await _raw_rows(h):
        seq = __import__("json").loads(r["payload"])["seq"]
        out[f"{r['partition_key'].rsplit('-', 1)[1]}{seq}"] = r
    return out


async def _tool(h: Harness, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bridge_shared.outbox.tool",
        *args,
        "--schema",
        h.schema,
        "--dsn",
        h.dsn,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


# -------------------------------------------------------------------- 4. write-time size limit


async def test_outbox_refuses_an_event_over_the_size_limit_naming_its_largest_field(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        outbox = Outbox(schema=h.schema, source="/tests", max_event_bytes=10_000)
        with pytest.raises(EventTooLarge) as caught:
            async with h.pool.acquire() as conn, conn.transaction():
                await conn.execute("INSERT INTO effects (event_id) VALUES ('state change')")
                await outbox.add_many(
                    conn,
                    [
                        (ThingHappened(thing_id="small", seq=1), None),
                        (ThingHappened(thing_id="big", seq=2, note="n" * 20_000), None),
                    ],
                )
        err = caught.value
        assert err.field == "note" and err.field_size > 20_000
        assert err.size > err.limit == 10_000
        assert err.event_type == ThingHappened.event_type
        async with h.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
            assert await conn.fetchval("SELECT count(*) FROM effects") == 0
            async with conn.transaction():  # just under the limit is fine
                await outbox.add(conn, ThingHappened(thing_id="ok", seq=3, note="n" * 9_000))
            assert await conn.fetchval("SELECT count(*) FROM outbox") == 1


# --------------------------------------------------------------------------------- 6. pruning


async def test_pruning_runs_on_a_timer_under_steady_load(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    """Old published/discarded outbox rows and old inbox rows go while new events keep flowing (the
    relay is never idle); recent, pending and parked rows stay."""
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        await h.broker.start()
        key = f"{h.schema}-load"
        stuck = f"{h.schema}-stuck"
        async with h.pool.acquire() as conn:
            old_published = [await insert_raw(conn, f"{h.schema}-old", i) for i in range(5)]
            old_discarded = await insert_raw(conn, f"{h.schema}-gone", 1)
            old_parked = await insert_raw(conn, stuck, 1)
            old_pending = await insert_raw(conn, stuck, 2)  # held behind the parked row
            await conn.execute(
                "UPDATE outbox SET created_at = now() - interval '10 days', "
                "published_at = now() - interval '3 days' WHERE id = ANY($1::bigint[])",
                old_published,
            )
            await conn.execute(
                "UPDATE outbox SET created_at = now() - interval '10 days', parked_at = now() - interval '9 days', "
                "parked_reason = 'test' WHERE id = ANY($1::bigint[])",
                [old_discarded, old_parked],
            )
            await conn.execute(
                "UPDATE outbox SET discarded_at = now() - interval '3 days' WHERE id = $1", old_discarded
            )
            await conn.execute(
                "UPDATE outbox SET created_at = now() - interval '10 days' WHERE id = $1", old_pending
            )
            await conn.execute(
                """INSERT INTO inbox (consumer, event_id, event_type, topic, partition, "offset", processed_at)
                   SELECT 'c', 'old-' || i, 't', 'x', 0, i, now() - interval '40 days' FROM generate_series(1, 50) i
                   UNION ALL
                   SELECT 'c', 'new-' || i, 't', 'x', 0, i, now() - interval '2 days' FROM generate_series(1, 5) i"""
            )
        relay = make_relay(h, broker_send(h.broker), idle_poll_seconds=5.0)
        relay_task = asyncio.create_task(relay.run())
        pruner = asyncio.create_task(
            run_pruner(
                h.pool, h.schema, interval_seconds=0.2, outbox_retention_hours=24, inbox_retention_days=30
            )
        )
        written = 0

        async def writer() -> None:
            nonlocal written
            while True:
                async with h.pool.acquire() as conn, conn.transaction():
                    await h.outbox.add(conn, ThingHappened(thing_id=key, seq=written))
                written += 1
                await asyncio.sleep(0.02)

        load = asyncio.create_task(writer())
        try:

            async def pruned() -> bool:
                async with h.pool.acquire() as conn:
                    left = await conn.fetchval(
                        "SELECT count(*) FROM outbox WHERE id = ANY($1::bigint[])",
                        [*old_published, old_discarded],
                    )
                    old_inbox = await conn.fetchval("SELECT count(*) FROM inbox WHERE event_id LIKE 'old-%'")
                return bool(left == 0 and old_inbox == 0)

            await _wait_until(pruned, timeout=10, what="old rows to be pruned")

            async def steady() -> bool:  # the load went on while the pruner ran (a slow machine writes less)
                return written > 5

            await _wait_until(steady, timeout=30, what="the load to go on writing")
        finally:
            load.cancel()
            pruner.cancel()
            await asyncio.gather(load, pruner, return_exceptions=True)
            await _stop([relay], [relay_task])
        async with h.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox WHERE id = $1", old_pending) == 1
            assert await conn.fetchval("SELECT count(*) FROM outbox WHERE id = $1", old_parked) == 1
            assert await conn.fetchval("SELECT count(*) FROM inbox WHERE event_id LIKE 'new-%'") == 5
            recent = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE partition_key = $1 AND published_at IS NOT NULL", key
            )
            assert written > 5 and recent >= written - 2, (written, recent)
            # Nothing is left to prune now, and retention 0 for the inbox keeps it forever.
            async with conn.transaction():
                result = await prune_once(conn, outbox_retention_hours=24, inbox_retention_days=0)
            assert (result.outbox, result.inbox, result.more) == (0, 0, False)


async def test_a_record_the_broker_refuses_is_parked_and_the_producer_comes_back(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    """A topic whose max.message.bytes is below the record: the broker refuses it, which leaves an
    idempotent producer unable to send to that partition again (OutOfOrderSequenceNumber stops its
    sender). The row is parked and the relay's next send gets a fresh producer: rows after it go out."""
    topic = f"bridge.test.small-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(
                    topic, num_partitions=1, replication_factor=1, topic_configs={"max.message.bytes": "4000"}
                )
            ]
        )
    finally:
        await admin.close()
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        await h.broker.start()
        big, other = f"{h.schema}-big", f"{h.schema}-other"
        async with h.pool.acquire() as conn:
            await insert_raw(conn, other, 1)
            big1 = await insert_raw(conn, big, 1, note="y" * 20_000)
            for seq in range(2, 7):
                await insert_raw(conn, other, seq)
            await conn.execute("UPDATE outbox SET topic = $1", topic)
        relay = make_relay(h, broker_send(h.broker), idle_poll_seconds=0.2)
        task = asyncio.create_task(relay.run())
        try:
            async with asyncio.timeout(60):
                while True:
                    status = await pool_outbox_status(h.pool)
                    if status["pending"] == 0 and status["parked"] == 1:
                        break
                    await asyncio.sleep(0.2)
        finally:
            await relay.stop()
            await task
        rows = {r["id"]: r for r in await _raw_rows(h)}
        assert rows[big1]["parked_reason"] is not None
        assert [r["parked_at"] is None for i, r in rows.items() if i != big1] == [True] * 6
        records = await read_all(bootstrap_servers, topic)
        assert seqs_by_key(records) == {other: [1, 2, 3, 4, 5, 6]}
