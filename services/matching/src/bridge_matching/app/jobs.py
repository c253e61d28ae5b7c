"""Runs import jobs and matching runs in this process, under leases (db/leases.py), so a job whose
instance stopped is taken over by another instance and completes exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Any

from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.db import leases
from bridge_matching.db.leases import JOB_TABLES, JobTable
from bridge_shared.db.connection import connection
from bridge_shared.scheduling.worker import Backoff, Worker

log = logging.getLogger(__name__)

# Runs one claimed job to its end (result or failure written)
# (runtime, job id, lease owner). Any: a coroutine's send and yield types.
Execute = Callable[[MatchingRuntime, uuid.UUID, str], Coroutine[Any, Any, None]]  # Any: see above


class JobRunner:
    """`submit` starts a job accepted by this instance at once; `sweep` claims jobs nobody runs (queued, or
    running with an expired lease because their instance stopped), which is how jobs survive restarts."""

    def __init__(self, rt: MatchingRuntime, executors: Mapping[JobTable, Execute]) -> None:
        self.rt = rt
        self.executors = executors
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.tasks: dict[tuple[JobTable, uuid.UUID], asyncio.Task[None]] = {}

    def submit(self, table: JobTable, job_id: uuid.UUID) -> asyncio.Task[None]:
        key = (table, job_id)
        task = self.tasks.get(key)
        if task is None:
            task = asyncio.create_task(
                self.executors[table](self.rt, job_id, self.owner), name=f"{table}:{job_id}"
            )
            self.tasks[key] = task
            task.add_done_callback(lambda _: self.tasks.pop(key, None))
        return task

    async def sweep(self) -> list[asyncio.Task[None]]:
        """Starts every job nobody is running; returns their tasks."""
        started = []
        for table in JOB_TABLES:
            async with connection(self.rt.pool) as conn:
                due = await leases.claimable(conn, table, self.rt.clock.now())
            for job_id in due:
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


def job_runner(rt: MatchingRuntime) -> JobRunner:
    return rt.component("jobs", JobRunner)


async def claim(rt: MatchingRuntime, table: JobTable, job_id: uuid.UUID, owner: str) -> bool:
    async with connection(rt.pool) as conn:
        return await leases.claim(conn, table, job_id, owner, rt.clock.now(), rt.settings.job_lease_seconds)


async def release(rt: MatchingRuntime, table: JobTable, job_id: uuid.UUID, owner: str) -> None:
    async with connection(rt.pool) as conn:
        await leases.release(conn, table, job_id, owner)


@contextlib.asynccontextmanager
async def heartbeat(
    rt: MatchingRuntime, table: JobTable, job_id: uuid.UUID, owner: str
) -> AsyncIterator[None]:
    """Renews the lease every third of `job_lease_seconds` while the body runs (a shared `Worker`: a failed
    renewal is retried with backoff, within the lease), and stops renewing once the lease is lost."""
    ttl = rt.settings.job_lease_seconds
    first = True

    async def renew() -> bool:
        nonlocal first
        if first:  # the claim has just set the lease
            first = False
            return False
        async with connection(rt.pool) as conn:
            if not await leases.renew(conn, table, job_id, owner, rt.clock.now(), ttl):
                # The renewal waits while the job's own last transaction holds its row; once that
                # commits, the job is finished, not lost.
                now_held = await leases.holder(conn, table, job_id)
                if now_held is None or now_held[0] in ("queued", "running"):
                    log.warning("lost the lease on %s %s", table, job_id)
                worker.stop()
        return False

    worker = Worker(f"lease {table}:{job_id}", renew, poll_seconds=ttl / 3, backoff=Backoff(max=ttl / 3))
    task = asyncio.create_task(worker.run())
    try:
        yield
    finally:
        worker.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
