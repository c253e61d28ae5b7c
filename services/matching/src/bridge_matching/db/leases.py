"""Leases for background jobs (import_jobs, matching_runs): who runs a job, and until when.

Claiming is one conditional UPDATE, so two instances never both get a job: a job can be claimed while it
is queued, or while it is running but its lease has expired (its owner stopped or crashed). The owner
renews the lease while it works (app/jobs.py) and checks it again, under a row lock, in the transaction
that writes the job's result, so a job whose lease was taken over never writes twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from bridge_matching.db.records import Conn

JobTable = Literal["import_jobs", "matching_runs"]
JOB_TABLES: tuple[JobTable, ...] = ("import_jobs", "matching_runs")


async def claim(
    conn: Conn, table: JobTable, job_id: uuid.UUID, owner: str, now: datetime, ttl: float
) -> bool:
    """Takes the job if it is queued or its lease expired; False if someone else holds it or it is done."""
    row = await conn.fetchrow(
        f"""UPDATE {table} SET status = 'running', lease_owner = $2, lease_expires_at = $3,
                   attempts = attempts + 1
             WHERE id = $1 AND (status = 'queued' OR (status = 'running' AND lease_expires_at < $4))
         RETURNING id""",
        job_id,
        owner,
        now + timedelta(seconds=ttl),
        now,
    )
    return row is not None


async def claimable(conn: Conn, table: JobTable, now: datetime) -> list[uuid.UUID]:
    """Jobs nobody is running: queued, or running with an expired lease (oldest first)."""
    rows = await conn.fetch(
        f"""SELECT id FROM {table}
             WHERE status = 'queued' OR (status = 'running' AND lease_expires_at < $1)
             ORDER BY created_at, id""",
        now,
    )
    return [r["id"] for r in rows]


async def renew(
    conn: Conn, table: JobTable, job_id: uuid.UUID, owner: str, now: datetime, ttl: float
) -> bool:
    status = await conn.execute(
        f"UPDATE {table} SET lease_expires_at = $3 WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
        job_id,
        owner,
        now + timedelta(seconds=ttl),
    )
    return status.endswith(" 1")


async def holder(conn: Conn, table: JobTable, job_id: uuid.UUID) -> tuple[str, str | None] | None:
    """The job's status and lease owner, or None when the job is gone."""
    row = await conn.fetchrow(f"SELECT status, lease_owner FROM {table} WHERE id = $1", job_id)
    return None if row is None else (row["status"], row["lease_owner"])


async def still_owned(conn: Conn, table: JobTable, job_id: uuid.UUID, owner: str) -> bool:
    """Locks the job row (inside the caller's transaction) and says whether this owner still runs it."""
    row = await conn.fetchrow(f"SELECT status, lease_owner FROM {table} WHERE id = $1 FOR UPDATE", job_id)
    return row is not None and row["status"] == "running" and row["lease_owner"] == owner


async def release(conn: Conn, table: JobTable, job_id: uuid.UUID, owner: str) -> None:
    """Hands an unfinished job back (on shutdown), so the next instance can take it at once."""
    await conn.execute(
        f"UPDATE {table} SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL "
        "WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
        job_id,
        owner,
    )
