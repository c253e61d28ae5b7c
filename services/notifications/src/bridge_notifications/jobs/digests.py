"""The periodic digest jobs, each run on one instance per tick (`singleton.periodic_worker`: an
advisory lock per tick, the job in its transaction) every `jobs_poll_seconds`."""

from __future__ import annotations

import asyncio

from bridge_notifications.app import digests
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.db.connection import Conn
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import Clock
from bridge_shared.scheduling.singleton import periodic_worker


async def run_jobs(rt: Runtime[NotificationsSettings]) -> None:
    settings = rt.settings

    async def daily(conn: Conn, clock: Clock) -> int:
        return await digests.daily_digest(conn, clock.now(), settings)

    async def weekly(conn: Conn, clock: Clock) -> int:
        return await digests.weekly_hr_digest(conn, clock.now(), settings)

    workers = [
        periodic_worker(
            rt.pool,
            f"{settings.service_name}.{name}",
            job,
            interval_seconds=settings.jobs_poll_seconds,
            clock=rt.clock,
        )
        for name, job in (("daily_digest", daily), ("weekly_hr_digest", weekly))
    ]
    await asyncio.gather(*(w.run() for w in workers))
