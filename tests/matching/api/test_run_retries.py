"""Transient failures of a matching run are retried with backoff, against a real database and broker.

The fault is real, not simulated: the test holds a lock the run's draft write needs (the cohort's open
draft row, which `lock_drafts` locks after the run's own row), waits until the write is waiting for it,
then asks for the run's row, which the write holds. That is a deadlock; PostgreSQL aborts the write
with DeadlockDetectedError (its session's `deadlock_timeout`, 1 s, comes long before the test's, set
to 60 s), and the run tries again after a backoff.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from bridge_matching.app.jobs import job_runner
from bridge_matching.main import create_app
from bridge_matching.settings import MatchingSettings
from bridge_shared.scheduling.clock import FrozenClock
from tests.matching.api.support import cohort_body, cohort_people, wait_run
from tests.service_harness import RunningService, auth, running_service

HR = auth("hr_admin", sub="hr-1")
ATTEMPTS = 3


@pytest.fixture(scope="module")
async def svc(admin_dsn: str, bootstrap_servers: str, clock: FrozenClock) -> AsyncIterator[RunningService]:
    async with running_service(
        lambda s: create_app(s, clock=clock),
        MatchingSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        expiry_interval_seconds=0,
        job_poll_seconds=0,  # only the instance that accepts a run starts it
        run_retry_attempts=ATTEMPTS,
        run_retry_backoff_seconds=0.2,
        run_retry_backoff_max_seconds=1,
    ) as running:
        yield running


async def cohort_with_draft(c: httpx.AsyncClient) -> tuple[str, str]:
    """A cohort in matching with an open draft (HR's first run): (cohort id, draft run id)."""
    r = await c.post("/cohorts", json=cohort_body(), headers=HR)
    cid: str = r.json()["id"]
    assert (
        await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)
    ).status_code == 200
    for p in cohort_people(3, prefix=f"T{uuid.uuid4().hex[:4]}"):
        assert (await c.post(f"/cohorts/{cid}/participants", json=p, headers=HR)).status_code == 201
    assert (
        await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "matching"}, headers=HR)
    ).status_code == 200
    r = await c.post(f"/cohorts/{cid}/matching-runs?wait=true", headers=HR)
    assert r.status_code == 201 and r.json()["status"] == "draft", r.text
    return cid, r.json()["id"]


@asynccontextmanager
async def holding(admin_dsn: str, schema: str, draft_id: str) -> AsyncIterator[asyncpg.Connection[Any]]:
    """A transaction (superuser) holding the open draft's row lock; rolled back at the end."""
    conn: asyncpg.Connection[Any] = await asyncpg.connect(admin_dsn)
    try:
        held = conn.transaction()
        await held.start()
        await conn.execute("SET LOCAL deadlock_timeout = '60s'")  # so the run's write is the victim
        await conn.execute(
            f'SELECT 1 FROM "{schema}".matching_runs WHERE id = $1 FOR UPDATE', uuid.UUID(draft_id)
        )
        yield conn
        await held.rollback()
    finally:
        await conn.close()


async def deadlock_the_draft_write(
    holder: asyncpg.Connection[Any], watcher: asyncpg.Connection[Any], schema: str, run_id: str
) -> None:
    """Waits until the run's draft write waits for the row `holder` holds, then makes `holder` ask for the
    run's row (held by the write): a real deadlock, which aborts the write. A savepoint hands the run's
    row back at once, so the next attempt can lock it again."""
    pid = await holder.fetchval("SELECT pg_backend_pid()")
    async with asyncio.timeout(30):
        while not await watcher.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", pid
        ):
            await asyncio.sleep(0.01)
    await holder.execute("SAVEPOINT deadlock")
    await holder.execute(
        f'SELECT 1 FROM "{schema}".matching_runs WHERE id = $1 FOR UPDATE', uuid.UUID(run_id)
    )
    await holder.execute("ROLLBACK TO SAVEPOINT deadlock")


async def test_a_draft_write_that_deadlocks_twice_succeeds_on_the_third_attempt(
    svc: RunningService, admin_dsn: str
) -> None:
    c = svc.client
    schema = svc.settings.db_schema
    cid, draft = await cohort_with_draft(c)
    watcher = await asyncpg.connect(admin_dsn)
    try:
        async with holding(admin_dsn, schema, draft) as holder:
            r = await c.post(f"/cohorts/{cid}/matching-runs", headers=HR)
            assert r.status_code == 202, r.text
            run_id = r.json()["id"]
            for _ in range(2):
                await deadlock_the_draft_write(holder, watcher, schema, run_id)
            # Still trying: the failures are recorded as they happen.
            async with asyncio.timeout(30):
                while (
                    len((await c.get(f"/matching-runs/{run_id}", headers=HR)).json()["failed_attempts"]) < 2
                ):
                    await asyncio.sleep(0.02)
    finally:
        await watcher.close()
    run = await wait_run(c, run_id, HR)
    assert run["status"] == "draft" and run["error"] is None, run
    assert run["attempts"] == 3 and len(run["pairs"]) == 3
    failed = run["failed_attempts"]
    assert [(a["attempt"], a["stage"], a["transient"]) for a in failed] == [
        (1, "write", True),
        (2, "write", True),
    ]
    assert all(a["error"].startswith("DeadlockDetectedError: deadlock detected") for a in failed), failed
    assert all(0 <= a["retry_in_seconds"] <= 1 for a in failed)
    assert (await c.get(f"/matching-runs/{draft}", headers=HR)).json()["status"] == "superseded"


async def test_a_run_that_always_fails_transiently_fails_after_the_configured_attempts(
    svc: RunningService, admin_dsn: str
) -> None:
    c = svc.client
    schema = svc.settings.db_schema
    cid, draft = await cohort_with_draft(c)
    watcher = await asyncpg.connect(admin_dsn)
    try:
        async with holding(admin_dsn, schema, draft) as holder:
            r = await c.post(f"/cohorts/{cid}/matching-runs", headers=HR)
            run_id = r.json()["id"]
            for _ in range(ATTEMPTS):
                await deadlock_the_draft_write(holder, watcher, schema, run_id)
            run = await wait_run(c, run_id, HR)
    finally:
        await watcher.close()
    assert run["status"] == "failed" and run["attempts"] == ATTEMPTS, run
    assert run["error"].startswith("DeadlockDetectedError: deadlock detected")
    assert run["error"].endswith(f"(a transient error; the run gave up after {ATTEMPTS} attempts)")
    failed = run["failed_attempts"]
    assert [(a["attempt"], a["stage"], a["transient"]) for a in failed] == [
        (n, "write", True) for n in range(1, ATTEMPTS + 1)
    ]
    assert [a["retry_in_seconds"] is None for a in failed] == [False] * (ATTEMPTS - 1) + [True]
    assert run["pairs"] == []
    # The cohort's draft is untouched, and the cohort is free for a new run.
    assert (await c.get(f"/matching-runs/{draft}", headers=HR)).json()["status"] == "draft"
    r = await c.post(f"/cohorts/{cid}/matching-runs?wait=true", headers=HR)
    assert r.status_code == 201 and r.json()["status"] == "draft", r.text
    assert r.json()["attempts"] == 1 and r.json()["failed_attempts"] == []


async def test_a_permanent_error_fails_the_run_at_once(svc: RunningService) -> None:
    """A run whose cohort left matching before its draft was written: not retried."""
    c = svc.client
    cid, _ = await cohort_with_draft(c)
    run_id = uuid.uuid4()  # queued, as if accepted just before HR moved the cohort on
    await svc.runtime.pool.execute(
        """INSERT INTO matching_runs (id, cohort_id, status, created_by, created_at, updated_at)
           VALUES ($1, $2, 'queued', 'hr-1', $3, $3)""",
        run_id,
        uuid.UUID(cid),
        svc.runtime.clock.now(),
    )
    await svc.runtime.pool.execute("UPDATE cohorts SET phase = 'closing' WHERE id = $1", uuid.UUID(cid))
    await asyncio.gather(*await job_runner(svc.runtime).sweep())
    run = await wait_run(c, str(run_id), HR)
    assert run["status"] == "failed" and run["attempts"] == 1
    assert run["error"] == "Cohort moved to phase 'closing' while the run was queued."
    assert [
        (a["attempt"], a["stage"], a["transient"], a["retry_in_seconds"]) for a in run["failed_attempts"]
    ] == [(1, "write", False, None)]
