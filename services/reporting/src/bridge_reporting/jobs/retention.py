"""The retention job (app/retention.py), on one instance per tick (`singleton.periodic_worker`: an
advisory lock per tick, the pass in its transaction) every `retention_interval_seconds`; a full pass
runs again at once."""

from __future__ import annotations

from bridge_reporting.app import retention
from bridge_reporting.settings import ReportingSettings
from bridge_shared.db.connection import Conn
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import Clock
from bridge_shared.scheduling.singleton import periodic_worker


async def run_retention(rt: Runtime[ReportingSettings]) -> None:
    settings = rt.settings

    async def tick(conn: Conn, clock: Clock) -> dict[str, int]:
        return await retention.run(conn, clock.now(), settings)

    await periodic_worker(
        rt.pool,
        f"{settings.service_name}.retention",
        tick,
        interval_seconds=settings.retention_interval_seconds,
        clock=rt.clock,
        more=lambda counts: retention.more_to_do(counts, settings),
    ).run()
