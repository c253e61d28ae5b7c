"""Periodic jobs that run on exactly one instance per tick.

Each tick takes a transaction-level advisory lock named after the job; an instance that cannot get
it skips the tick. The job's effects and the lock share the transaction, so a crash mid-tick
releases the lock and leaves no half-done work. "Signal once" semantics still belong in the job's
own tables (a unique row per condition), which makes ticks safe to repeat.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import asyncpg

from bridge_shared.db.connection import as_connection
from bridge_shared.scheduling.clock import Clock, SystemClock

log = logging.getLogger(__name__)

Job: TypeAlias = "Callable[[asyncpg.Connection[Any], Clock], Awaitable[Any]]"


def lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"job:{name}".encode()).digest()[:8], "big", signed=True)


async def run_once(pool: asyncpg.Pool, name: str, job: Job, clock: Clock | None = None) -> tuple[bool, Any]:
    """Runs one tick if no other instance is running it; returns (ran, job result)."""
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", lock_key(name)):
            return False, None
        return True, await job(as_connection(conn), clock or SystemClock())


async def run_periodically(
    pool: asyncpg.Pool, name: str, job: Job, *, interval_seconds: float, clock: Clock | None = None
) -> None:
    while True:
        try:
            await run_once(pool, name, job, clock)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("periodic job %s failed; will retry next tick", name)
        await asyncio.sleep(interval_seconds)
