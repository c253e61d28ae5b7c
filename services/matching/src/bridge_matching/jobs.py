"""Background work: the single-instance proposal-expiry job, and clean shutdown of running imports."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from bridge_matching.domain.workflow import EXPIRY_JOB, expire_due
from bridge_matching.settings import MatchingSettings
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import Clock
from bridge_shared.scheduling.singleton import run_once, run_periodically


async def expire_once(rt: Runtime) -> int:
    """One tick of the expiry job (tests call this with a FrozenClock in the runtime)."""

    async def job(conn: asyncpg.Connection[Any], clock: Clock) -> int:
        return await expire_due(conn, rt.outbox, clock)

    ran, expired = await run_once(rt.pool, EXPIRY_JOB, job, rt.clock)
    return int(expired) if ran else 0


async def expiry_loop(rt: Runtime) -> None:
    settings = rt.settings
    assert isinstance(settings, MatchingSettings)
    if settings.expiry_interval_seconds <= 0:
        return

    async def job(conn: asyncpg.Connection[Any], clock: Clock) -> int:
        return await expire_due(conn, rt.outbox, clock)

    await run_periodically(
        rt.pool, EXPIRY_JOB, job, interval_seconds=settings.expiry_interval_seconds, clock=rt.clock
    )


async def import_reaper(rt: Runtime) -> None:
    """Waits for shutdown, then cancels imports still running (their transaction rolls back)."""
    try:
        await asyncio.Event().wait()
    finally:
        tasks: set[asyncio.Task[Any]] = rt.extras.get("import_tasks", set())
        for t in list(tasks):
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
