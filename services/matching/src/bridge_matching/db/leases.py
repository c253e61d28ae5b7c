"""Leases for background jobs (import_jobs, matching_runs): who runs a job, and until when.

Claiming is one conditional UPDATE, so two instances never both get a job: a job can be claimed while it
is queued, or while it is running but its lease has expired (its owner stopped or crashed). The owner
renews the lease while it works and checks it again, under a row lock, in the transaction that writes
the job's result, so a job whose lease was taken over never writes twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Literal

import asyncpg

from bridge_matching.db.repository import Conn, Record
from bridge_shared.scheduling.clock import Clock

log = logging.getLogger(__name__)

JobTable = Literal["import_jobs", "matching_runs"]


async def claim(
    pool: asyncpg.Pool, table: JobTable, job_id: uuid.UUID, owner: str, clock: Clock, ttl: float
) -> Record | None:
    """Takes the job if it is queued or its lease expired; None if someone else holds it or it is done."""
    now = clock.now()
    row: Record | None = await pool.fetchrow(
        f"""UPDATE {table} SET status = 'running', lease_owner = $2, lease_expires_at = $3,
                   attempts = attempts + 1
             WHERE id = $1 AND (status = 'queued' OR (status = 'running' AND lease_expires_at < $4))
         RETURNING *""",
        job_id,
        owner,
        now + timedelta(seconds=ttl),
        now,
    )
    return row


async def claimable(pool: asyncpg.Pool, table: JobTable, clock: Clock) -> list[uuid.UUID]:
    """Jobs nobody is running: queued, or running with an expired lease (oldest first)."""
    rows = await pool.fetch(
        f"""SELECT id FROM {table}
             WHERE status = 'queued' OR (status = 'running' AND lease_expires_at < $1)
             ORDER BY created_at, id""",
        clock.now(),
    )
    return [r["id"] for r in rows]


async def renew(
    pool: asyncpg.Pool, table: JobTable, job_id: uuid.UUID, owner: str, clock: Clock, ttl: float
) -> bool:
    status = await pool.execute(
        f"UPDATE {table} SET lease_expires_at = $3 WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
        job_id,
        owner,
        clock.now() + timedelta(seconds=ttl),
    )
    return bool(status.endswith(" 1"))


async def still_owned(conn: Conn, table: JobTable, job_id: uuid.UUID, owner: str) -> bool:
    """Locks the job row (inside the caller's transaction) and says whether this owner still runs it."""
    row = await conn.fetchrow(f"SELECT status, lease_owner FROM {table} WHERE id = $1 FOR UPDATE", job_id)
    return row is not None and row["status"] == "running" and row["lease_owner"] == owner


async def release(pool: asyncpg.Pool, table: JobTable, job_id: uuid.UUID, owner: str) -> None:
    """Hands an unfinished job back (on shutdown), so the next instance can take it at once."""
    await pool.execute(
        f"UPDATE {table} SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL "
        "WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
        job_id,
        owner,
    )


@contextlib.asynccontextmanager
async def heartbeat(
    pool: asyncpg.Pool, table: JobTable, job_id: uuid.UUID, owner: str, clock: Clock, ttl: float
) -> AsyncIterator[None]:
    """Renews the lease every ttl/3 while the body runs."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(ttl / 3)
            try:
                if not await renew(pool, table, job_id, owner, clock, ttl):
                    log.warning("lost the lease on %s %s", table, job_id)
                    return
            except Exception:  # a failed renewal is retried next beat; the lease may still expire
                log.exception("could not renew the lease on %s %s", table, job_id)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
