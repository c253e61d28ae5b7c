"""The circle health job: every `health_check_interval_seconds` (switched with the relationship health
job, `health_check_enabled`), on one instance per tick, assess every open circle (app/circle_health.py)."""

from __future__ import annotations

from bridge_sessions.app.circle_health import JOB_NAME, circle_health_job
from bridge_sessions.settings import SessionsSettings
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.singleton import run_periodically


async def circle_health_scheduler(rt: Runtime[SessionsSettings]) -> None:
    if not rt.settings.health_check_enabled:
        return
    await run_periodically(
        rt.pool,
        JOB_NAME,
        circle_health_job(rt),
        interval_seconds=rt.settings.health_check_interval_seconds,
        clock=rt.clock,
    )
