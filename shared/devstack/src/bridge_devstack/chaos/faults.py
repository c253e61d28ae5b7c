"""The faults, one per run. Each acts at workload checkpoints (`workload.CHECKPOINTS`), records
what it did and when it last acted (converge time is measured from there), and for every injection
how long until what was in flight then had gone through (`recovery.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from bridge_devstack.chaos.counting import POISON_KEY_PREFIX, Counter, PoisonPlan
from bridge_devstack.chaos.recovery import Recovery, Snapshot
from bridge_devstack.chaos.stack import Stack
from bridge_shared.contracts.matching import PairFormedV1
from bridge_shared.contracts.sessions import SessionScheduledV1
from bridge_shared.events.topics import (
    MATCHING_PAIR,
    MATCHING_PARTICIPANT,
    MATCHING_PROPOSAL,
    SESSIONS_RELATIONSHIP,
)
from bridge_shared.messaging.sources import owner_source

# How long one injection's in-flight work may take to go through before it counts as not recovered.
RECOVERY_BOUND = 300.0


@dataclass
class RunContext:
    stack: Stack
    counter: Counter
    recovery: Recovery
    cohort_id: Callable[[], str]
    tag: str
    say: Callable[[str], None]


@dataclass(eq=False)
class Fault:
    name: str
    title: str
    kafka_nodes: int = 1
    # Duplicates from the documented SMTP window this fault may cause (one per notifications kill).
    smtp_window_allowance: int = 0
    t0: float = 0.0  # monotonic start of the run (set by the runner)
    injected_at: float | None = None  # monotonic time of the last injection
    notes: list[str] = field(default_factory=list)
    # Per injection: seconds until what was in flight then had gone through (None: not in the bound).
    recoveries: list[float | None] = field(default_factory=list)
    poison: PoisonPlan | None = None
    _background: list[asyncio.Task[None]] = field(default_factory=list)
    _watchers: list[asyncio.Task[None]] = field(default_factory=list)

    async def at(self, checkpoint: str, ctx: RunContext) -> None:
        """Called at every workload checkpoint; faults act at the ones they care about."""

    async def inject(
        self,
        ctx: RunContext,
        action: Callable[[], Awaitable[str]],
        *,
        snapshot_after: bool = False,
        also: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        """Runs one injection, notes what it did, and watches how long its in-flight work takes to go
        through. The snapshot is taken before a kill (everything can still be read) or after
        records were published (they must be part of it)."""
        snap: Snapshot | None = None
        if not snapshot_after:
            snap = await ctx.recovery.snapshot()
        what = await action()
        self.injected_at = time.monotonic()
        self._note(what)
        if snap is None:
            snap = await ctx.recovery.snapshot()
        index = len(self.recoveries)
        self.recoveries.append(None)
        since = self.injected_at

        async def watch() -> None:
            self.recoveries[index] = await ctx.recovery.watch(snap, since, RECOVERY_BOUND, also)

        self._watchers.append(asyncio.create_task(watch()))

    def _note(self, what: str) -> None:
        self.notes.append(f"+{time.monotonic() - self.t0:.1f}s {what}")

    def later(self, coro: Any) -> None:
        self._background.append(asyncio.create_task(coro))

    async def healed(self) -> None:
        """Waits for restarts still under way (a fault heals before the effects are judged)."""
        for task in self._background:
            await task
        self._background.clear()

    async def recovered(self, timeout: float) -> None:
        """Waits (bounded) for the recovery watchers; one still running then stays 'not recovered'."""
        if self._watchers:
            _done, pending = await asyncio.wait(self._watchers, timeout=timeout)
            for task in pending:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._watchers.clear()

    async def cleanup(self, ctx: RunContext) -> None:
        """After the run was counted: undo what must not outlive it."""


class Baseline(Fault):
    def __init__(self) -> None:
        super().__init__("none", "no fault (baseline)")


class KillService(Fault):
    """kill -9 of one service three times mid-workload (enrolling, accepting, scheduling); it is
    started again `down_for` seconds later while the driver keeps retrying."""

    AT = ("enrolling", "accepting", "scheduling")
    # The documented SMTP window (services/notifications README): a message the SMTP server accepted
    # but whose outcome the killed process had not recorded is sent again, with the same Message-ID.
    # At most the messages in flight when it died can be: one per connection of the SMTP pool
    # (notifications' `smtp_pool_size`, 10 by default, which the chaos platform keeps).
    IN_FLIGHT_PER_KILL = 10

    def __init__(self, service: str, *, down_for: float = 1.5) -> None:
        super().__init__(
            f"kill-{service}",
            f"kill -9 {service} x3",
            smtp_window_allowance=len(self.AT) * self.IN_FLIGHT_PER_KILL if service == "notifications" else 0,
        )
        self.service = service
        self.down_for = down_for

    async def at(self, checkpoint: str, ctx: RunContext) -> None:
        if checkpoint not in self.AT:
            return
        # The previous kill's restart first, up to ready: every kill hits a running, working process.
        await self.healed()

        async def kill() -> str:
            pid = ctx.stack.kill_service(self.service)
            return f"killed {self.service} pid {pid} at {checkpoint}"

        async def ready() -> bool:
            async with httpx.AsyncClient(timeout=2) as client:
                r = await client.get(f"{ctx.stack.url(self.service)}/readyz")
                return r.status_code == 200

        await self.inject(ctx, kill, also=ready)

        async def restart() -> None:
            await asyncio.sleep(self.down_for)
            new = ctx.stack.restart_service(self.service)
            t = time.monotonic()
            await ctx.stack.platform.wait_ready(timeout=180, services=(self.service,))
            self._note(f"restarted {self.service} as pid {new}, ready after {time.monotonic() - t:.1f}s")

        self.later(restart())


class KillPostgres(Fault):
    """kill -9 of the PostgreSQL postmaster while people accept their proposals; started again
    (crash recovery from the WAL) `down_for` seconds after it is gone."""

    def __init__(self, *, down_for: float = 3.0) -> None:
        super().__init__("kill-postgres", "kill -9 PostgreSQL, restart")
        self.down_for = down_for

    async def at(self, checkpoint: str, ctx: RunContext) -> None:
        if checkpoint != "accepting":
            return
        pg = ctx.stack.infra.postgres
        assert pg is not None

        async def kill() -> str:
            await asyncio.to_thread(pg.kill)
            return "killed the postmaster (and waited for its backends to go)"

        await self.inject(ctx, kill)

        async def restart() -> None:
            await asyncio.sleep(self.down_for)
            t = time.monotonic()
            await asyncio.to_thread(pg.start)
            self._note(f"PostgreSQL started again after {time.monotonic() - t:.1f}s of recovery")

        self.later(restart())


class KillBroker(Fault):
    """kill -9 of the single Kafka broker while people accept; started again ~5 s later on its data."""

    def __init__(self, *, down_for: float = 5.0) -> None:
        super().__init__("kill-broker", "kill -9 the broker, restart 5 s later")
        self.down_for = down_for

    async def at(self, checkpoint: str, ctx: RunContext) -> None:
        if checkpoint != "accepting":
            return
        kafka = ctx.stack.infra.kafka
        assert kafka is not None

        async def kill() -> str:
            await asyncio.to_thread(kafka.kill, 0)
            return "killed the broker"

        await self.inject(ctx, kill)

        async def restart() -> None:
            await asyncio.sleep(self.down_for)
            t = time.monotonic()
            await asyncio.to_thread(kafka.start_node, 0, 120.0)
            self._note(f"broker listening again {time.monotonic() - t:.1f}s after its restart")

        self.later(restart())


class KillOneOfThree(Fault):
    """On a three-broker cluster (RF 3, min.insync.replicas 2): kill -9 of the broker leading the
    most Bridge partitions, while people enrol. It stays down for the rest of the run (the effects
    are counted with two brokers); it is started again only after the run was counted."""

    def __init__(self) -> None:
        super().__init__("kill-1-of-3-brokers", "kill -9 1 of 3 brokers (stays down)", kafka_nodes=3)
        self.killed: int | None = None

    async def at(self, checkpoint: str, ctx: RunContext) -> None:
        if checkpoint != "enrolling":
            return
        kafka = ctx.stack.infra.kafka
        assert kafka is not None
        leaders = await _leader_counts(ctx.stack.bootstrap)
        node_id = max(leaders, key=lambda n: leaders[n]) if leaders else 1
        index = next(i for i, n in enumerate(kafka.members) if n.node_id == node_id)

        async def kill() -> str:
            await asyncio.to_thread(kafka.kill, index)
            self.killed = index
            return f"killed broker node {node_id} (leader of {leaders.get(node_id, 0)} Bridge partitions)"

        await self.inject(ctx, kill)

    async def cleanup(self, ctx: RunContext) -> None:
        kafka = ctx.stack.infra.kafka
        if self.killed is not None and kafka is not None:
            await asyncio.to_thread(kafka.start_node, self.killed, 120.0)
            self._note("restarted it after the run was counted")


async def _leader_counts(bootstrap: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bridge-chaos-admin")
    await admin.start()
    try:
        described = await admin.describe_topics()
    finally:
        await admin.close()
    counts: dict[int, int] = {}
    for topic in described:
        if not str(topic.get("topic", "")).startswith("bridge."):
            continue
        for part in topic.get("partitions", []):
            leader = int(part.get("leader", -1))
            if leader >= 0:
                counts[leader] = counts.get(leader, 0) + 1
    return counts


REPLAY_TOPICS = (MATCHING_PARTICIPANT, MATCHING_PROPOSAL, MATCHING_PAIR, SESSIONS_RELATIONSHIP)


class Replay(Fault):
    """Every record of this cohort that every consumer group has already committed past
    (participants, proposals, pairs, relationship events) is read back and published again byte for
    byte (same key, value and headers, so the same event ids) to the same partition: once while
    sessions are being scheduled (what all groups had consumed by then), and once more after the
    last call, when the groups have caught up (the rest, so every event of the cohort is replayed).
    Nothing may happen twice."""

    def __init__(self) -> None:
        super().__init__("replay", "re-publish consumed events (same ids)")
        self.replayed: set[tuple[str, bytes]] = set()  # (topic, ce_id) already sent again

    async def at(self, checkpoint: str, ctx: RunContext) -> None:
        if checkpoint not in ("scheduling", "driven"):
            return
        if checkpoint == "driven":
            await self._caught_up(ctx, timeout=180.0)

        async def replay() -> str:
            committed = await ctx.recovery.kafka.committed()
            floor: dict[TopicPartition, int] = {}
            for offsets in committed.values():
                for tp, off in offsets.items():
                    if tp.topic in REPLAY_TOPICS:
                        floor[tp] = min(off, floor.get(tp, off))
            records = [
                r
                for r in await _read_cohort_records(ctx.stack.bootstrap, ctx.cohort_id(), floor)
                if (r[0].topic, dict(r[3]).get("ce_id", b"")) not in self.replayed
            ]
            producer = AIOKafkaProducer(
                bootstrap_servers=ctx.stack.bootstrap, acks="all", enable_idempotence=True, linger_ms=5
            )
            await producer.start()
            try:
                futures = [
                    await producer.send(tp.topic, value, key=key, partition=tp.partition, headers=headers)
                    for tp, key, value, headers in records
                ]
                for fut in futures:
                    await fut
            finally:
                await producer.stop()
            by_topic: dict[str, int] = {}
            for tp, _key, _value, headers in records:
                by_topic[tp.topic] = by_topic.get(tp.topic, 0) + 1
                self.replayed.add((tp.topic, dict(headers).get("ce_id", b"")))
            return f"re-published {len(records)} consumed records at {checkpoint}: " + ", ".join(
                f"{t.split('.', 1)[1]} {n}" for t, n in sorted(by_topic.items())
            )

        await self.inject(ctx, replay, snapshot_after=True)

    async def _caught_up(self, ctx: RunContext, *, timeout: float) -> None:
        """Waits (bounded) until every group has consumed everything on the replayed topics."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            committed = await ctx.recovery.kafka.committed()
            ends = await ctx.recovery.kafka.ends()
            behind = [
                (g, tp)
                for g, offsets in committed.items()
                for tp, end in ends.items()
                if tp.topic in REPLAY_TOPICS and tp in offsets and offsets[tp] < end
            ]
            if not behind:
                return
            await asyncio.sleep(1.0)
        self._note(
            f"groups still behind on the replayed topics after {timeout:.0f}s; replaying what they consumed"
        )


async def _read_cohort_records(
    bootstrap: str, cohort_id: str, below: dict[TopicPartition, int]
) -> list[tuple[TopicPartition, bytes | None, bytes | None, list[tuple[str, bytes]]]]:
    """Records of one cohort below the given offsets (those every group has consumed)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    out: list[tuple[TopicPartition, bytes | None, bytes | None, list[tuple[str, bytes]]]] = []
    try:
        pending = {tp for tp, off in below.items() if off > 0}
        if not pending:
            return out
        consumer.assign(sorted(pending))
        await consumer.seek_to_beginning(*pending)
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            batch = await consumer.getmany(*pending, timeout_ms=500, max_records=5000)
            for tp, recs in batch.items():
                for rec in recs:
                    if rec.offset >= below[tp]:
                        break
                    with contextlib.suppress(ValueError):
                        data = json.loads(rec.value or b"")
                        if isinstance(data, dict) and data.get("cohort_id") == cohort_id:
                            out.append((tp, rec.key, rec.value, list(rec.headers or ())))
            for tp in list(pending):
                if await consumer.position(tp) >= below[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return out


# Which services consume each topic (their consumers' subscriptions; each dead-letters a record it
# cannot decode, and one of a type it handles that does not validate).
CONSUMERS = {
    MATCHING_PAIR: ("sessions", "notifications", "reporting"),
    SESSIONS_RELATIONSHIP: ("notifications", "reporting"),
}
POISON_TYPES = {MATCHING_PAIR: PairFormedV1.event_type, SESSIONS_RELATIONSHIP: SessionScheduledV1.event_type}


class Poison(Fault):
    """Malformed and schema-invalid records injected onto every partition of consumed topics:
    bridge.matching.pair right after proposals are published (before any pair of this cohort is
    formed), bridge.sessions.relationship while sessions are being scheduled. Three of each per
    partition: a value that is not JSON (valid CloudEvents headers), a record with no ce_ headers,
    and a well-formed event whose payload does not match its schema. Each consumer of the topic
    must dead-letter each one (bridge.dlq.<service>, with a reason) and keep going."""

    def __init__(self) -> None:
        super().__init__("poison", "malformed + schema-invalid events")
        self.poison = PoisonPlan()

    async def at(self, checkpoint: str, ctx: RunContext) -> None:
        topic = {"published": MATCHING_PAIR, "scheduling": SESSIONS_RELATIONSHIP}.get(checkpoint)
        if topic is None:
            return
        plan = self.poison
        assert plan is not None

        async def poison() -> str:
            consumer = AIOKafkaConsumer(bootstrap_servers=ctx.stack.bootstrap, group_id=None)
            await consumer.start()
            try:
                await consumer._client.force_metadata_update()
                partitions = sorted(consumer.partitions_for_topic(topic) or ())
            finally:
                await consumer.stop()
            producer = AIOKafkaProducer(
                bootstrap_servers=ctx.stack.bootstrap, acks="all", enable_idempotence=True
            )
            await producer.start()
            n = 0
            try:
                for partition in partitions:
                    for kind in ("not-json", "no-ce-headers", "schema-invalid"):
                        key = f"{POISON_KEY_PREFIX}{ctx.tag}:{topic}:{partition}:{kind}"
                        value, headers = _poison(
                            kind, POISON_TYPES[topic], ctx.cohort_id(), owner_source(topic)
                        )
                        await producer.send_and_wait(
                            topic, value, key=key.encode(), partition=partition, headers=headers
                        )
                        plan.injected.append(key)
                        for svc in CONSUMERS[topic]:
                            plan.expected.add((svc, key))
                        n += 1
            finally:
                await producer.stop()
            return f"injected {n} bad records onto {topic} ({len(partitions)} partitions)"

        await self.inject(ctx, poison, snapshot_after=True)


def _poison(kind: str, event_type: str, cohort_id: str, source: str) -> tuple[bytes, list[tuple[str, bytes]]]:
    # The owner's source, so the payload (not the source check) is what sends these to the DLQ.
    ce = [
        ("ce_specversion", b"1.0"),
        ("ce_id", f"chaos-poison-{uuid.uuid4()}".encode()),
        ("ce_source", source.encode()),
        ("ce_type", event_type.encode()),
        ("ce_time", b"2026-01-01T00:00:00Z"),
        ("content-type", b"application/json"),
    ]
    if kind == "not-json":
        return b"{this is not json", ce
    if kind == "no-ce-headers":
        return json.dumps({"cohort_id": cohort_id, "note": "no CloudEvents headers"}).encode(), [
            ("content-type", b"application/json")
        ]
    # Well-formed, but the payload is missing every required field but the cohort.
    return json.dumps({"cohort_id": cohort_id, "unexpected": True}).encode(), ce


def all_faults() -> dict[str, Callable[[], Fault]]:
    return {
        "none": Baseline,
        "replay": Replay,
        "poison": Poison,
        "kill-matching": lambda: KillService("matching"),
        "kill-sessions": lambda: KillService("sessions"),
        "kill-notifications": lambda: KillService("notifications"),
        "kill-reporting": lambda: KillService("reporting"),
        "kill-postgres": KillPostgres,
        "kill-broker": KillBroker,
        "kill-1-of-3-brokers": KillOneOfThree,
    }
