"""Periodic jobs that run on exactly one instance per tick.

Each tick takes a transaction-level advisory lock named after the job and scoped to the service's
schema (`bridge_shared.db.locks`); an instance that cannot get it skips the tick. The job's effects
and the lock share the transaction, so a crash mid-tick releases the lock and leaves no half-done
work. "Signal once" semantics still belong in the job's own tables (a unique row per condition),
which makes ticks safe to repeat. The loop around the ticks is the shared `Worker`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

import asyncpg

from bridge_shared.db.connection import as_connection
from bridge_shared.db.locks import advisory_key
from bridge_shared.scheduling.clock import Clock, SystemClock
from bridge_shared.scheduling.worker import Worker

R = TypeVar("R")
Job: TypeAlias = "Callable[[asyncpg.Connection[Any], Clock], Awaitable[Any]]"


async def run_once(
    pool: asyncpg.Pool,
    name: str,
    job: Callable[[asyncpg.Connection[Any], Clock], Awaitable[R]],
    clock: Clock | None = None,
) -> tuple[bool, R | None]:
    """Runs one tick if no other instance is running it; returns (ran, job result)."""
    async with pool.acquire() as conn, conn.transaction():
        schema = await conn.fetchval("SELECT current_schema()")
        key = advisory_key("job", schema, name)
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", key):
            return False, None
        return True, await job(as_connection(conn), clock or SystemClock())


def periodic_worker(
    pool: asyncpg.Pool,
    name: str,
    job: Callable[[asyncpg.Connection[Any], Clock], Awaitable[Any]],
    *,
    interval_seconds: float,
    clock: Clock | None = None,
    more: Callable[[Any], bool] | None = None,
) -> Worker:
    """A `Worker` running `job` on one instance per tick; `more(result)` true repeats at once."""

    async def tick() -> bool:
        ran, result = await run_once(pool, name, job, clock)
        return bool(ran and more is not None and more(result))

    return Worker(f"job {name}", tick, poll_seconds=interval_seconds)


async def run_periodically(
    pool: asyncpg.Pool,
    name: str,
    job: Callable[[asyncpg.Connection[Any], Clock], Awaitable[Any]],
    *,
    interval_seconds: float,
    clock: Clock | None = None,
) -> None:
    await periodic_worker(pool, name, job, interval_seconds=interval_seconds, clock=clock).run()
