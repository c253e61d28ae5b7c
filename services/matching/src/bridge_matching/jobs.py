"""Scheduled work, thin: the single-instance proposal-expiry, circle-invitation expiry, retention and
directory-leavers loops, and the job runner's start-up and its sweep for jobs nobody runs (the use
cases are in app/)."""

from __future__ import annotations

import asyncio
import logging
import time

from bridge_matching.app import circles, directory, hris_sync, imports, runs
from bridge_matching.app.jobs import JobRunner, job_runner
from bridge_matching.app.privacy import RETENTION_JOB, retention_job
from bridge_matching.app.proposals import EXPIRY_JOB, expire_due
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.domain.engine import warm_up
from bridge_shared.scheduling.singleton import periodic_worker, run_once
from bridge_shared.scheduling.worker import Worker

log = logging.getLogger(__name__)


async def expire_once(rt: MatchingRuntime) -> int:
    """One tick of the expiry job (tests call this with a FrozenClock in the runtime); starts the
    automatic rematch runs it queued."""
    return await expire_due(rt)


async def expiry_loop(rt: MatchingRuntime) -> None:
    interval = rt.settings.expiry_interval_seconds
    if interval > 0:

        async def tick() -> bool:
            await expire_due(rt)
            return False

        await Worker(f"job {EXPIRY_JOB}", tick, poll_seconds=interval).run()


async def circle_expiry_once(rt: MatchingRuntime) -> int:
    """One tick of the circle-invitation expiry (tests call this with a FrozenClock in the runtime):
    how many invitations expired."""
    return await circles.expire_due(rt)


async def circle_expiry_loop(rt: MatchingRuntime) -> None:
    """Every `expiry_interval_seconds` (0: off), as the proposal expiry."""
    interval = rt.settings.expiry_interval_seconds
    if interval > 0:

        async def tick() -> bool:
            await circles.expire_due(rt)
            return False

        await Worker(f"job {circles.EXPIRY_JOB}", tick, poll_seconds=interval).run()


async def retention_once(rt: MatchingRuntime) -> dict[str, int]:
    """One pass of the retention rules (tests call this with a FrozenClock in the runtime)."""
    ran, counts = await run_once(rt.pool, RETENTION_JOB, retention_job(rt.settings), rt.clock)
    return dict(counts or {}) if ran else {}


async def retention_loop(rt: MatchingRuntime) -> None:
    """Every `retention_interval_seconds` (0: off); again at once while a batch came back full."""
    interval = rt.settings.retention_interval_seconds
    batch = rt.settings.retention_batch_size
    if interval > 0:
        await periodic_worker(
            rt.pool,
            RETENTION_JOB,
            retention_job(rt.settings),
            interval_seconds=interval,
            clock=rt.clock,
            more=lambda counts: any(n >= batch for n in (counts or {}).values()),
        ).run()


async def hris_poll_once(rt: MatchingRuntime) -> hris_sync.PollResult | None:
    """One poll of the HRIS inbox (tests call this with a FrozenClock in the runtime); None when
    another instance is polling."""
    ran, result = await run_once(rt.pool, hris_sync.HRIS_JOB, hris_sync.poll_job(rt), rt.clock)
    return result if ran else None


async def hris_loop(rt: MatchingRuntime) -> None:
    """Every `hris_poll_seconds` (0: off) while `hris_inbox_dir` is set; again at once while files
    remain."""
    interval = rt.settings.hris_poll_seconds
    if rt.settings.hris_inbox_dir is not None and interval > 0:
        await periodic_worker(
            rt.pool,
            hris_sync.HRIS_JOB,
            hris_sync.poll_job(rt),
            interval_seconds=interval,
            clock=rt.clock,
            more=lambda result: result is not None and result.more,
        ).run()


async def leavers_once(rt: MatchingRuntime) -> int:
    """One batch of the termination-date pass (tests call this with a FrozenClock in the runtime):
    how many people left; 0 also when another instance holds the tick."""
    ran, n = await run_once(rt.pool, directory.LEAVERS_JOB, directory.leavers_job(rt), rt.clock)
    return (n or 0) if ran else 0


async def leavers_loop(rt: MatchingRuntime) -> None:
    """Every `directory_leavers_interval_seconds` (0: off); again at once while a batch came back full."""
    interval = rt.settings.directory_leavers_interval_seconds
    batch = rt.settings.directory_leavers_batch_size
    if interval > 0:
        await periodic_worker(
            rt.pool,
            directory.LEAVERS_JOB,
            directory.leavers_job(rt),
            interval_seconds=interval,
            clock=rt.clock,
            more=lambda n: (n or 0) >= batch,
        ).run()


async def create_job_runner(rt: MatchingRuntime) -> None:
    rt.extras["jobs"] = JobRunner(rt, {"import_jobs": imports.execute, "matching_runs": runs.execute})


async def job_worker(rt: MatchingRuntime) -> None:
    """Claims orphaned and queued jobs at start-up and every `job_poll_seconds` (0: only at start-up);
    stops this instance's jobs on shutdown, handing their leases back."""
    runner = job_runner(rt)

    async def sweep() -> bool:
        await runner.sweep()
        return False

    poll = rt.settings.job_poll_seconds
    try:
        await Worker("matching job sweep", sweep, poll_seconds=poll if poll > 0 else None).run()
    finally:
        await runner.stop()


async def warm_engine(rt: MatchingRuntime) -> None:
    """Builds the matching engine's compiled kernel (or loads it from the numba cache) in a
    worker thread at start-up, so the first matching run does not pay for it."""
    del rt
    started = time.perf_counter()
    try:
        await asyncio.to_thread(warm_up)
    except Exception:  # a warm-up failure must not stop the service; the first run will retry
        log.exception("warming the matching engine failed")
        return
    log.info("matching engine ready in %.1f s", time.perf_counter() - started)
