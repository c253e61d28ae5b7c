"""Imports and matching runs are leased background jobs: they survive a restart and run exactly once.

Two service instances share one database schema here (as two replicas would): a job whose instance
stopped, or whose lease expired, is taken over by the other instance and completes once.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from bridge_matching.app.jobs import JobRunner, job_runner
from bridge_matching.main import create_app
from bridge_matching.settings import MatchingSettings
from bridge_shared.db.provision import provision
from bridge_shared.scheduling.clock import FrozenClock
from tests.matching.api.support import cohort_body, cohort_people, csv_of, wait_import, wait_run
from tests.service_harness import RunningService, auth, topic_prefix

HR = auth("hr_admin", sub="hr-1")
CSV = {**HR, "Content-Type": "text/csv"}


@pytest.fixture
async def shared_settings(admin_dsn: str, bootstrap_servers: str) -> MatchingSettings:
    """Settings for instances that share one schema. No periodic sweep: only the start-up one."""
    name = f"matching_{uuid.uuid4().hex[:8]}"
    dsn = await provision(admin_dsn, name, secrets.token_hex(8))
    return MatchingSettings(
        service_name=name,
        db_schema=name,
        database_url=dsn,
        kafka_bootstrap_servers=bootstrap_servers,
        kafka_topic_prefix=topic_prefix(),
        environment="test",
        log_json=False,
        expiry_interval_seconds=0,
        outbox_idle_poll_seconds=0.5,
        job_poll_seconds=0,
        job_lease_seconds=30,
    )


@asynccontextmanager
async def instance(settings: MatchingSettings, clock: FrozenClock) -> AsyncIterator[RunningService]:
    app = create_app(settings, clock=clock)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield RunningService(app, client, settings)


def runner(svc: RunningService) -> JobRunner:
    return job_runner(svc.runtime)


async def _cohort(c: httpx.AsyncClient, people: list[dict[str, Any]], *, phase: str) -> str:
    r = await c.post("/cohorts", json=cohort_body(), headers=HR)
    assert r.status_code == 201, r.text
    cid: str = r.json()["id"]
    assert (
        await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)
    ).status_code == 200
    for p in people:
        assert (await c.post(f"/cohorts/{cid}/participants", json=p, headers=HR)).status_code == 201
    if phase == "matching":
        r = await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "matching"}, headers=HR)
        assert r.status_code == 200, r.text
    return cid


async def test_expired_run_lease_is_taken_over_once(shared_settings: MatchingSettings) -> None:
    clock = FrozenClock(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    async with instance(shared_settings, clock) as a, instance(shared_settings, clock) as b:
        cid = await _cohort(a.client, cohort_people(5, prefix="R"), phase="matching")
        # An instance that has since died claimed this run and was solving it.
        run_id = uuid.uuid4()
        await a.runtime.pool.execute(
            """INSERT INTO matching_runs (id, cohort_id, status, created_by, created_at, updated_at,
                                          lease_owner, lease_expires_at, attempts)
               VALUES ($1, $2, 'running', 'hr-1', $3, $3, 'gone-host:1:dead', $4, 1)""",
            run_id,
            uuid.UUID(cid),
            clock.now(),
            clock.now() + timedelta(seconds=30),
        )
        # While its lease is valid nobody takes it, and a second run is refused, naming the active one.
        assert await runner(a).sweep() == [] and await runner(b).sweep() == []
        r = await a.client.post(f"/cohorts/{cid}/matching-runs", headers=HR)
        assert r.status_code == 409, r.text
        assert r.json()["active_run_id"] == str(run_id) and r.json()["active_run_status"] == "running"

        # The lease expires: both instances sweep at once; exactly one claims and completes the run.
        clock.advance(timedelta(seconds=31))
        started = [*(await asyncio.gather(runner(a).sweep(), runner(b).sweep()))]
        assert sum(len(s) for s in started) >= 1
        await asyncio.gather(runner(a).drain(), runner(b).drain())
        run = await wait_run(a.client, str(run_id), HR)
        assert run["status"] == "draft" and run["attempts"] == 2, run
        assert len(run["pairs"]) == 5 and run["unmatched"] == []
        pool = a.runtime.pool
        assert await pool.fetchval("SELECT count(*) FROM draft_pairs WHERE run_id = $1", run_id) == 5
        assert await pool.fetchval("SELECT lease_owner FROM matching_runs WHERE id = $1", run_id) is None

        # The cohort is free again: a new run can start, and it supersedes the recovered draft.
        r = await b.client.post(f"/cohorts/{cid}/matching-runs?wait=true", headers=HR)
        assert r.status_code == 201 and r.json()["status"] == "draft", r.text
        assert r.headers["location"] == f"/matching-runs/{r.json()['id']}"
        assert (await a.client.get(f"/matching-runs/{run_id}", headers=HR)).json()["status"] == "superseded"

        # A re-solve is a job too: the draft is queued again and comes back as a draft.
        new_id = r.json()["id"]
        pin = r.json()["pairs"][0]
        assert (
            await b.client.post(f"/matching-runs/{new_id}/pairs/{pin['id']}/pin", headers=HR)
        ).status_code == 200
        r = await b.client.post(f"/matching-runs/{new_id}/resolve", headers=HR)
        assert r.status_code == 202 and r.headers["location"] == f"/matching-runs/{new_id}", r.text
        assert r.json()["status"] in ("queued", "running", "draft")
        resolved = await wait_run(b.client, new_id, HR)
        assert resolved["status"] == "draft" and len(resolved["pairs"]) == 5
        kept = [p for p in resolved["pairs"] if p["mentor_id"] == pin["mentor_id"]]
        assert kept[0]["mentee_id"] == pin["mentee_id"] and kept[0]["pinned"]


async def test_interrupted_import_is_rerun_by_the_next_instance(shared_settings: MatchingSettings) -> None:
    clock = FrozenClock(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    people = cohort_people(4, prefix="I")
    async with instance(shared_settings, clock) as a:
        cid = await _cohort(a.client, [], phase="enrolling")
        job_id = uuid.uuid4()
        # The instance running this import stopped without handing it back; its lease has expired.
        await a.runtime.pool.execute(
            """INSERT INTO import_jobs (id, cohort_id, status, created_by, created_at, source,
                                        lease_owner, lease_expires_at, attempts)
               VALUES ($1, $2, 'running', 'hr-1', $3, $4, 'gone-host:1:dead', $5, 1)""",
            job_id,
            uuid.UUID(cid),
            clock.now(),
            csv_of(people),
            clock.now() - timedelta(seconds=1),
        )
    async with instance(shared_settings, clock) as b:  # its start-up sweep takes the job over
        job = await wait_import(b.client, str(job_id), HR)
        assert job["status"] == "completed", job
        assert job["report"]["inserted"] == 8 and job["report"]["rejected"] == 0
        row = await b.runtime.pool.fetchrow("SELECT * FROM import_jobs WHERE id = $1", job_id)
        assert row["attempts"] == 2 and row["source"] is None and row["lease_owner"] is None
        listed = (await b.client.get(f"/cohorts/{cid}/participants", headers=HR)).json()
        assert sorted(p["employee_id"] for p in listed) == sorted(p["employee_id"] for p in people)
        # Running it again (a late duplicate claim) does nothing: the job is finished.
        assert await runner(b).sweep() == []


async def test_import_stopped_mid_job_completes_on_restart(shared_settings: MatchingSettings) -> None:
    """A real stop: the instance shuts down while the import parses; the next instance finishes it."""
    clock = FrozenClock(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    people = cohort_people(6000, prefix="S")  # 12k rows: parsing takes a few seconds
    async with instance(shared_settings, clock) as a:
        cid = await _cohort(a.client, [], phase="enrolling")
        r = await a.client.post(f"/cohorts/{cid}/imports", content=csv_of(people).encode(), headers=CSV)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        async with asyncio.timeout(30):
            while (await a.client.get(f"/imports/{job_id}", headers=HR)).json()["status"] != "running":
                await asyncio.sleep(0.02)
    # Shutdown handed the job back: queued, with nothing stored.
    async with instance(shared_settings, clock) as b:
        pool = b.runtime.pool
        assert await pool.fetchval("SELECT attempts FROM import_jobs WHERE id = $1", uuid.UUID(job_id)) >= 1
        job = await wait_import(b.client, job_id, HR, timeout=120)
        assert job["status"] == "completed", job
        assert job["report"]["inserted"] == 12_000
        row = await pool.fetchrow(
            "SELECT attempts, lease_owner FROM import_jobs WHERE id = $1", uuid.UUID(job_id)
        )
        assert row["attempts"] == 2 and row["lease_owner"] is None
        n = await pool.fetchval("SELECT count(*) FROM participants WHERE cohort_id = $1", uuid.UUID(cid))
        assert n == 12_000
