"""The retention job: a singleton periodic worker (one instance per tick, the use case in the
tick's transaction) every `retention_interval_seconds`, repeated at once while a batch was full."""

from __future__ import annotations

from typing import Any

from bridge_notifications.app import retention
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.db.connection import Conn
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import Clock
from bridge_shared.scheduling.singleton import periodic_worker


async def run_retention(rt: Runtime[NotificationsSettings]) -> None:
    settings = rt.settings

    async def job(conn: Conn, clock: Clock) -> dict[str, int]:
        return await retention.apply_retention(conn, clock.now(), settings)

    def more(result: Any) -> bool:
        return isinstance(result, dict) and retention.batch_was_full(result, settings)

    await periodic_worker(
        rt.pool,
        f"{settings.service_name}.retention",
        job,
        interval_seconds=settings.retention_interval_seconds,
        clock=rt.clock,
        more=more,
    ).run()
