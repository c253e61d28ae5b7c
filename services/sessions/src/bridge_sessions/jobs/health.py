"""The health job: every `health_check_interval_seconds`, on one instance per tick, assess every
open relationship (app/health.py)."""

from __future__ import annotations

from bridge_sessions.app.health import JOB_NAME, health_job
from bridge_sessions.settings import SessionsSettings
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.singleton import run_periodically


async def health_scheduler(rt: Runtime[SessionsSettings]) -> None:
    if not rt.settings.health_check_enabled:
        return
    await run_periodically(
        rt.pool,
        JOB_NAME,
        health_job(rt),
        interval_seconds=rt.settings.health_check_interval_seconds,
        clock=rt.clock,
    )
