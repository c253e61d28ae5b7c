"""Runs an HRIS import job: validate in a worker thread, COPY into a staging table, one set-based upsert,
participant events written to the outbox in bulk, the job row updated with progress and the report.

Everything that touches participants happens in one transaction, so a failure leaves stored data as it
was; rejected rows never touch the stored participant with the same employee id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import asyncpg

from bridge_matching.db import leases
from bridge_matching.db import repository as repo
from bridge_matching.domain.csv_import import FileError, Parsed, parse_csv
from bridge_matching.domain.events import participant_event, participant_subject
from bridge_matching.domain.phases import ENROLMENT_PHASES
from bridge_shared.db.connection import connection, transaction
from bridge_shared.outbox.writer import Outbox
from bridge_shared.scheduling.clock import Clock

log = logging.getLogger(__name__)
MAX_ERRORS_IN_REPORT = 10_000
TABLE: leases.JobTable = "import_jobs"

_STAGING_COLS = ("employee_id", *repo.PROFILE_FIELDS)
_STAGING_DDL = """CREATE TEMP TABLE import_staging (
    employee_id text, role text, display_name text, email text, seniority_level integer, department text,
    manager_employee_id text, region text, languages text[], timezone text, locale text, availability text,
    skills_to_share text[], skills_to_learn text[], meeting_preference text, capacity integer,
    requested_partners text[], blocked_partners text[]) ON COMMIT DROP"""
_PROFILE_SELECT = ", ".join("availability::jsonb" if f == "availability" else f for f in repo.PROFILE_FIELDS)
_UPSERT = f"""
INSERT INTO participants (id, cohort_id, employee_id, created_at, updated_at,
                          {", ".join(repo.PROFILE_FIELDS)})
SELECT gen_random_uuid(), $1, employee_id, $2, $2, {_PROFILE_SELECT} FROM import_staging
ON CONFLICT (cohort_id, employee_id) DO UPDATE SET
    {", ".join(f"{f} = EXCLUDED.{f}" for f in repo.PROFILE_FIELDS)}, updated_at = EXCLUDED.updated_at
WHERE ({", ".join(f"participants.{f}" for f in repo.PROFILE_FIELDS)})
      IS DISTINCT FROM ({", ".join(f"EXCLUDED.{f}" for f in repo.PROFILE_FIELDS)})
RETURNING id, cohort_id, employee_id, role, display_name, email, region, department, seniority_level,
          timezone, locale, (xmax = 0) AS inserted"""


def _record(p: Any) -> tuple[Any, ...]:
    return (
        p.employee_id,
        p.role,
        p.display_name,
        str(p.email),
        p.seniority_level,
        p.department,
        p.manager_employee_id,
        p.region,
        p.languages,
        p.timezone,
        p.locale,
        json.dumps([w.model_dump() for w in p.availability]),
        p.skills_to_share,
        p.skills_to_learn,
        p.meeting_preference,
        p.capacity,
        p.requested_partners,
        p.blocked_partners,
    )


async def create_job(
    conn: repo.Conn, cohort_id: uuid.UUID, created_by: str, clock: Clock, source: str
) -> repo.Record:
    """A queued job; the CSV is kept on the row until the job finishes, so another instance can run it."""
    return await repo.fetch_one(
        conn,
        "INSERT INTO import_jobs (id, cohort_id, status, created_by, created_at, source) "
        "VALUES ($1, $2, 'queued', $3, $4, $5) RETURNING *",
        uuid.uuid4(),
        cohort_id,
        created_by,
        clock.now(),
        source,
    )


async def store_and_publish(
    conn: repo.Conn, outbox: Outbox, cohort_id: uuid.UUID, parsed: Parsed, clock: Clock
) -> dict[str, int]:
    """The database half of an import, inside the caller's transaction."""
    await conn.execute(_STAGING_DDL)
    await conn.copy_records_to_table(
        "import_staging", records=[_record(p) for _, p in parsed.accepted], columns=list(_STAGING_COLS)
    )
    now = clock.now()
    changed = await conn.fetch(_UPSERT, cohort_id, now)
    events = [
        (participant_event(r, inserted=r["inserted"], trusted=True), participant_subject(r)) for r in changed
    ]
    await outbox.add_many(conn, events, time=now)
    inserted = sum(1 for r in changed if r["inserted"])
    return {
        "inserted": inserted,
        "updated": len(changed) - inserted,
        "unchanged": len(parsed.accepted) - len(changed),
    }


async def run_import(
    pool: asyncpg.Pool, outbox: Outbox, job_id: uuid.UUID, owner: str, clock: Clock, lease_seconds: float
) -> None:
    """Claims and runs one import; does nothing if another instance holds it or it is finished.

    A job taken over after its owner stopped runs again from the stored CSV: the upsert is idempotent and
    the result is written only by the instance that still holds the lease, so it completes exactly once.
    """
    job = await leases.claim(pool, TABLE, job_id, owner, clock, lease_seconds)
    if job is None:
        return
    try:
        async with leases.heartbeat(pool, TABLE, job_id, owner, clock, lease_seconds):
            await _run(pool, outbox, job, owner, clock)
    except asyncio.CancelledError:  # shutting down: hand the job back so the next instance takes it now
        await asyncio.shield(leases.release(pool, TABLE, job_id, owner))
        raise
    except Exception as exc:  # the job row must say what happened; the data is untouched
        log.exception("import %s failed", job_id)
        await _finish_failed(pool, job_id, owner, f"{type(exc).__name__}: {exc}", clock, None)


async def _finish_failed(
    pool: asyncpg.Pool, job_id: uuid.UUID, owner: str, error: str, clock: Clock, report: Any
) -> None:
    await pool.execute(
        """UPDATE import_jobs SET status = 'failed', error = $3, finished_at = $4,
                  report = coalesce($5, report), source = NULL, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = $1 AND lease_owner = $2 AND status = 'running'""",
        job_id,
        owner,
        error,
        clock.now(),
        report,
    )


async def _run(pool: asyncpg.Pool, outbox: Outbox, job: Any, owner: str, clock: Clock) -> None:
    job_id, cohort_id, text = job["id"], job["cohort_id"], job["source"]
    if text is None:
        raise RuntimeError("the uploaded file is no longer stored; upload again")
    total = max(text.count("\n") - 1, 0)
    await pool.execute(
        "UPDATE import_jobs SET total = $2, processed = 0 WHERE id = $1 AND lease_owner = $3",
        job_id,
        total,
        owner,
    )
    async with connection(pool) as conn:
        cohort = await repo.get_cohort(conn, cohort_id)
        assert cohort is not None
        existing = {emp: mgr for emp, (_, mgr) in (await repo.cohort_employees(conn, cohort_id)).items()}
    seen = [0]
    parse = asyncio.create_task(
        asyncio.to_thread(
            parse_csv,
            text,
            cohort_regions=cohort["regions"],
            existing_managers=existing,
            progress=lambda n: seen.__setitem__(0, n),
        )
    )
    while not parse.done():
        await asyncio.wait({parse}, timeout=0.5)
        await pool.execute(
            "UPDATE import_jobs SET processed = $2 WHERE id = $1 AND lease_owner = $3", job_id, seen[0], owner
        )
    try:
        parsed = parse.result()
    except FileError as exc:
        await _finish_failed(
            pool, job_id, owner, str(exc), clock, {"total": 0, "accepted": 0, "rejected": 0, "errors": []}
        )
        return
    async with transaction(pool) as conn:
        if not await leases.still_owned(conn, TABLE, job_id, owner):
            log.warning("import %s was taken over by another instance; dropping this attempt", job_id)
            return
        locked = await repo.get_cohort(conn, cohort_id, for_update=True)
        assert locked is not None
        if locked["phase"] not in ENROLMENT_PHASES:
            raise RuntimeError(f"cohort moved to phase {locked['phase']!r}; imports need draft or enrolling")
        counts = await store_and_publish(conn, outbox, cohort_id, parsed, clock)
        rejected_lines = {e.line for e in parsed.rejected}
        report = {
            "total": parsed.total,
            "accepted": len(parsed.accepted),
            "rejected": len(rejected_lines),
            **counts,
            "errors": [e.as_dict() for e in parsed.rejected[:MAX_ERRORS_IN_REPORT]],
            "errors_truncated": len(parsed.rejected) > MAX_ERRORS_IN_REPORT,
        }
        await conn.execute(
            """UPDATE import_jobs SET status = 'completed', total = $2, processed = $2, report = $3,
                      finished_at = $4, source = NULL, lease_owner = NULL, lease_expires_at = NULL
                WHERE id = $1""",
            job_id,
            parsed.total,
            report,
            clock.now(),
        )
