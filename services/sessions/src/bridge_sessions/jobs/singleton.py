"""`bridge_shared.scheduling.singleton`, or - while the shared module fails to import - the same
algorithm here (same lock key, so instances on either path still exclude each other).

Shared bug (reported): `Job = Callable[[asyncpg.Connection[Any], ...]]` is evaluated at import and
asyncpg's Connection is not subscriptable at runtime, so importing the shared module raises
TypeError. Delete the fallback once shared quotes that alias.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from bridge_shared.db.connection import as_connection
from bridge_shared.scheduling.clock import Clock, SystemClock

log = logging.getLogger(__name__)
Job = Callable[["asyncpg.Connection[Any]", Clock], Awaitable[Any]]


def lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"job:{name}".encode()).digest()[:8], "big", signed=True)


async def _run_once(pool: asyncpg.Pool, name: str, job: Job, clock: Clock | None = None) -> tuple[bool, Any]:
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", lock_key(name)):
            return False, None
        return True, await job(as_connection(conn), clock or SystemClock())


async def _run_periodically(
    pool: asyncpg.Pool, name: str, job: Job, *, interval_seconds: float, clock: Clock | None = None
) -> None:
    while True:
        try:
            await _run_once(pool, name, job, clock)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("periodic job %s failed; will retry next tick", name)
        await asyncio.sleep(interval_seconds)


try:
    import bridge_shared.scheduling.singleton as _shared

    run_once: Callable[..., Awaitable[tuple[bool, Any]]] = _shared.run_once
    run_periodically: Callable[..., Awaitable[None]] = _shared.run_periodically
    assert _shared.lock_key("x") == lock_key("x")
except TypeError:  # pragma: no cover - depends on the shared module's state
    run_once = _run_once
    run_periodically = _run_periodically
