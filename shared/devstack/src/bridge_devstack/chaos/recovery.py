"""Time to recover from one injection: how long until everything that was in flight when it hit has
gone through. Taken as a snapshot at the injection (just before a kill, so the database and broker
can still be read; just after re-published or injected records, so those count):

- every outbox row not yet published then is published (per service schema, by id);
- every consumer group has committed past the end offsets of then, on every topic it consumes;
- no email or chat delivery created by then is still due or held under a lease (a lease held by a
  killed dispatcher runs out before another instance takes the row over).

This catches stalls that "all effects observed" after the last fault hides, e.g. a crashed relay's
lease blocking a service's outbox until it expires. After a service kill it also waits for that
service to answer /readyz again, so a kill with nothing in flight does not count as recovered at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from bridge_shared.db.provision import SERVICES
from bridge_shared.events.topics import ALL_EVENT_TOPICS


@dataclass(frozen=True)
class Snapshot:
    db_now: datetime
    outbox_max: dict[str, int]  # per schema: highest id of a row not yet published
    ends: dict[TopicPartition, int]
    groups: dict[str, frozenset[str]]  # group -> the topics it consumes


class KafkaProbe:
    """Committed offsets of every group and end offsets of the event topics, on its own clients."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="bridge-chaos-probe")
            await admin.start()
            self._admin = admin
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap, group_id=None, client_id="bridge-chaos-probe"
            )
            await consumer.start()
            await consumer._client.force_metadata_update()
            self._partitions = [
                TopicPartition(t, p)
                for t in ALL_EVENT_TOPICS
                for p in sorted(consumer.partitions_for_topic(t) or ())
            ]
            self._consumer = consumer
        return self._admin, self._consumer

    async def reset(self) -> None:
        admin, consumer, self._admin, self._consumer = self._admin, self._consumer, None, None
        with contextlib.suppress(Exception):
            if admin is not None:
                await admin.close()
        with contextlib.suppress(Exception):
            if consumer is not None:
                await consumer.stop()

    async def committed(self) -> dict[str, dict[TopicPartition, int]]:
        admin, _ = await self._clients()
        out: dict[str, dict[TopicPartition, int]] = {}
        for g in [g[0] for g in await admin.list_consumer_groups()]:
            offsets = await admin.list_consumer_group_offsets(g)
            out[g] = {tp: om.offset for tp, om in offsets.items() if om.offset >= 0}
        return out

    async def ends(self) -> dict[TopicPartition, int]:
        _, consumer = await self._clients()
        ends: dict[TopicPartition, int] = await consumer.end_offsets(self._partitions)
        return ends


class Recovery:
    def __init__(self, admin_dsn: str, bootstrap: str) -> None:
        self.admin_dsn = admin_dsn
        self.kafka = KafkaProbe(bootstrap)

    async def aclose(self) -> None:
        await self.kafka.reset()

    async def _conn(self) -> asyncpg.Connection[Any]:
        conn: asyncpg.Connection[Any] = await asyncpg.connect(self.admin_dsn, timeout=5)
        return conn

    async def snapshot(self) -> Snapshot:
        conn = await self._conn()
        try:
            db_now: datetime = await conn.fetchval("SELECT now()")
            outbox: dict[str, int] = {}
            for svc in SERVICES:
                top = await conn.fetchval(f'SELECT max(id) FROM "{svc}".outbox WHERE published_at IS NULL')
                if top is not None:
                    outbox[svc] = int(top)
        finally:
            await conn.close()
        try:
            committed = await asyncio.wait_for(self.kafka.committed(), 15)
            ends = await asyncio.wait_for(self.kafka.ends(), 15)
        except BaseException:
            await self.kafka.reset()
            raise
        groups = {g: frozenset(tp.topic for tp in offs) for g, offs in committed.items()}
        return Snapshot(db_now, outbox, ends, groups)

    async def drained(self, snap: Snapshot) -> bool:
        conn = await self._conn()
        try:
            for svc, top in snap.outbox_max.items():
                left = await conn.fetchval(
                    f'SELECT count(*) FROM "{svc}".outbox WHERE published_at IS NULL AND id <= $1', top
                )
                if left:
                    return False
            busy = await conn.fetchval(
                "SELECT count(*) FROM notifications.deliveries WHERE created_at <= $1 "
                "AND (status = 'sending' OR (status = 'pending' AND due_at <= now()))",
                snap.db_now,
            )
            if busy:
                return False
        finally:
            await conn.close()
        try:
            committed = await asyncio.wait_for(self.kafka.committed(), 15)
        except BaseException:
            await self.kafka.reset()
            raise
        for group, topics in snap.groups.items():
            offsets = committed.get(group, {})
            for tp, end in snap.ends.items():
                if tp.topic in topics and offsets.get(tp, 0) < end:
                    return False
        return True

    async def watch(
        self,
        snap: Snapshot,
        since: float,
        bound: float,
        also: Callable[[], Awaitable[bool]] | None = None,
    ) -> float | None:
        """Seconds from `since` until drained (and `also` holds, e.g. a killed service is ready
        again), or None if not within `bound`."""
        deadline = since + bound
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):  # a dependency still down: look again
                if (also is None or await also()) and await self.drained(snap):
                    return time.monotonic() - since
            await asyncio.sleep(1.0)
        return None
