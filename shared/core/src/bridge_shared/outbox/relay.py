"""Publishes outbox rows to Kafka in id order, so order holds per key.

One relay per service is active at a time (a session advisory lock); others stand by. The relay
wakes on NOTIFY from the writer and also polls slowly as a safety net. When the broker is down, rows
stay pending and go out, still in order, once it is back.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from opentelemetry import context as otel_context
from opentelemetry import propagate

from bridge_shared.observability.metrics import ServiceMetrics
from bridge_shared.outbox.writer import notify_channel

log = logging.getLogger(__name__)

_TRACE_HEADERS = ("traceparent", "tracestate", "baggage")


@dataclass(frozen=True)
class PendingRow:
    id: int
    event_id: str
    topic: str
    key: str
    headers: dict[str, str]
    payload: bytes


# Sends one row and resolves when the broker has acknowledged it.
SendFn = Callable[[PendingRow], Awaitable[Awaitable[Any]]]


def _lock_key(schema: str) -> int:
    return int.from_bytes(hashlib.sha256(f"outbox:{schema}".encode()).digest()[:8], "big", signed=True)


class OutboxRelay:
    def __init__(
        self,
        *,
        dsn: str,
        pool: asyncpg.Pool,
        schema: str,
        send: SendFn,
        batch_size: int = 500,
        idle_poll_seconds: float = 5.0,
        retention_days: int = 7,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.dsn = dsn
        self.pool = pool
        self.schema = schema
        self.send = send
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self.retention_days = retention_days
        self.metrics = metrics
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.is_leader = False
        self.last_error: str | None = None

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                await self._run_as_leader()
                backoff = 0.2
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self.is_leader = False
                log.warning("outbox relay lost its database connection: %s", exc)
                await self._sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _run_as_leader(self) -> None:
        conn: asyncpg.Connection[Any] = await asyncpg.connect(self.dsn)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _lock_key(self.schema)):
                if await self._sleep(self.idle_poll_seconds):
                    return
            self.is_leader = True
            await conn.add_listener(notify_channel(self.schema), lambda *_: self._wake.set())
            send_backoff = 0.2
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    while await self.drain_once() == self.batch_size:
                        pass
                    await self._observe_backlog()
                    send_backoff = 0.2
                    self.last_error = None
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    raise
                except Exception as exc:  # broker trouble: rows stay pending, retry with backoff
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning("outbox publish failed, will retry: %s", self.last_error)
                    await self._sleep(send_backoff * (1 + random.random() / 2))
                    send_backoff = min(send_backoff * 2, 10.0)
                    continue
                await self._wait_for_work()
        finally:
            self.is_leader = False
            await conn.close()

    async def _wait_for_work(self) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=self.idle_poll_seconds)
        except TimeoutError:
            await self.prune()

    async def _sleep(self, seconds: float) -> bool:
        """Sleeps unless stopped; returns True when stopping."""
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def drain_once(self) -> int:
        """Publishes up to one batch; returns how many rows were published."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT id, event_id, topic, partition_key, headers, payload FROM outbox
                   WHERE published_at IS NULL ORDER BY id LIMIT $1""",
                self.batch_size,
            )
        if not rows:
            return 0
        pending = [
            PendingRow(r["id"], r["event_id"], r["topic"], r["partition_key"], r["headers"], r["payload"])
            for r in rows
        ]
        acks: list[Awaitable[Any]] = []
        published: list[int] = []
        error: BaseException | None = None
        try:
            for row in pending:
                acks.append(await self._send_traced(row))
            results = await asyncio.gather(*acks, return_exceptions=True)
        except Exception as exc:
            results = []
            error = exc
        # Only the prefix that the broker acknowledged is marked, so a failed row never lets a
        # later row of the same key overtake it.
        for row, res in zip(pending, results, strict=False):
            if isinstance(res, BaseException):
                error = res
                break
            published.append(row.id)
        async with self.pool.acquire() as conn:
            if published:
                await conn.execute(
                    "UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL "
                    "WHERE id = ANY($1::bigint[])",
                    published,
                )
            if error is not None:
                failed = pending[len(published)].id
                await conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1",
                    failed,
                    f"{type(error).__name__}: {error}"[:2000],
                )
        if self.metrics is not None:
            self.metrics.outbox_published.inc(len(published))
        if error is not None:
            raise error
        return len(published)

    async def _send_traced(self, row: PendingRow) -> Awaitable[Any]:
        carrier = {k: row.headers[k] for k in _TRACE_HEADERS if k in row.headers}
        ctx = propagate.extract(carrier)
        headers = {k: v for k, v in row.headers.items() if k not in _TRACE_HEADERS}
        clean = PendingRow(row.id, row.event_id, row.topic, row.key, headers, row.payload)
        # The broker's publish span becomes a child of the writer's trace; no extra span per row.
        token = otel_context.attach(ctx)
        try:
            return await self.send(clean)
        finally:
            otel_context.detach(token)

    async def _observe_backlog(self) -> None:
        if self.metrics is not None:
            b = await self.backlog()
            self.metrics.outbox_pending.set(b["pending"])
            self.metrics.outbox_oldest_seconds.set(b["oldest_pending_seconds"] or 0)

    async def prune(self) -> int:
        async with self.pool.acquire() as conn:
            result = await conn.execute(
                "DELETE FROM outbox WHERE published_at < now() - make_interval(days => $1)",
                self.retention_days,
            )
        return int(result.split()[-1])

    async def backlog(self) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                """SELECT count(*) AS pending,
                          extract(epoch FROM now() - min(created_at))::float8 AS oldest_seconds
                   FROM outbox WHERE published_at IS NULL"""
            )
        assert row is not None
        return {"pending": row["pending"], "oldest_pending_seconds": row["oldest_seconds"]}
