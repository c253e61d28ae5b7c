"""Background work: the single-instance proposal-expiry job, and the runner for import jobs and
matching runs (leased, so a job whose instance stopped is taken over by another)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from typing import Any

import asyncpg

from bridge_matching.db import leases
from bridge_matching.db.leases import JobTable
from bridge_matching.domain.importer import run_import
from bridge_matching.domain.runs import execute_run
from bridge_matching.domain.workflow import EXPIRY_JOB, expire_due
from bridge_matching.settings import MatchingSettings
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import Clock
from bridge_shared.scheduling.singleton import run_once, run_periodically

log = logging.getLogger(__name__)
JOB_TABLES: tuple[JobTable, ...] = ("import_jobs", "matching_runs")


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


class JobRunner:
    """Runs import jobs and matching runs in this process, under leases (see `db/leases.py`).

    `submit` starts a job accepted by this instance at once; `sweep` claims jobs nobody runs (queued, or
    running with an expired lease because their instance stopped), which is how jobs survive restarts.
    """

    def __init__(self, rt: Runtime) -> None:
        settings = rt.settings
        assert isinstance(settings, MatchingSettings)
        self.rt = rt
        self.settings = settings
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.tasks: dict[tuple[JobTable, uuid.UUID], asyncio.Task[None]] = {}

    def submit(self, table: JobTable, job_id: uuid.UUID) -> asyncio.Task[None]:
        key = (table, job_id)
        task = self.tasks.get(key)
        if task is None:
            task = asyncio.create_task(self._execute(table, job_id), name=f"{table}:{job_id}")
            self.tasks[key] = task
            task.add_done_callback(lambda _: self.tasks.pop(key, None))
        return task

    async def _execute(self, table: JobTable, job_id: uuid.UUID) -> None:
        rt, lease = self.rt, self.settings.job_lease_seconds
        if table == "import_jobs":
            await run_import(rt.pool, rt.outbox, job_id, self.owner, rt.clock, lease)
        else:
            await execute_run(rt.pool, job_id, self.owner, rt.clock, lease)

    async def sweep(self) -> list[asyncio.Task[None]]:
        """Starts every job nobody is running; returns their tasks."""
        started = []
        for table in JOB_TABLES:
            for job_id in await leases.claimable(self.rt.pool, table, self.rt.clock):
                if (table, job_id) not in self.tasks:
                    started.append(self.submit(table, job_id))
        return started

    async def drain(self) -> None:
        """Waits for every job this instance is running (tests)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks.values()), return_exceptions=True)

    async def stop(self) -> None:
        """Cancels running jobs; each hands its lease back so the next instance takes it over."""
        tasks = list(self.tasks.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def job_runner(rt: Runtime) -> JobRunner:
    runner = rt.extras.get("jobs")
    assert isinstance(runner, JobRunner), "the job runner is created at start-up"
    return runner


async def create_job_runner(rt: Runtime) -> None:
    rt.extras["jobs"] = JobRunner(rt)


async def job_worker(rt: Runtime) -> None:
    """Claims orphaned and queued jobs at start-up and every `job_poll_seconds`; stops jobs on shutdown."""
    runner = job_runner(rt)
    interval = runner.settings.job_poll_seconds
    try:
        while True:
            try:
                await runner.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job sweep failed; will retry")
            if interval <= 0:
                await asyncio.Event().wait()
            await asyncio.sleep(interval)
    finally:
        await runner.stop()
