"""The retention job: every `retention_interval_seconds`, on one instance per run, remove what has
outlived its `retention_*_days` (app/retention.py); a full batch runs again at once."""

from __future__ import annotations

from bridge_sessions.app.retention import JOB_NAME, RetentionResult, retention_job
from bridge_sessions.settings import SessionsSettings
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.singleton import periodic_worker


def _more(result: object) -> bool:
    return isinstance(result, RetentionResult) and result.more


async def retention_scheduler(rt: Runtime[SessionsSettings]) -> None:
    if not rt.settings.retention_enabled:
        return
    await periodic_worker(
        rt.pool,
        JOB_NAME,
        retention_job(rt),
        interval_seconds=rt.settings.retention_interval_seconds,
        clock=rt.clock,
        more=_more,
    ).run()
