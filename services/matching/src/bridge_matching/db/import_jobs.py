"""The import_jobs table (its lease columns are handled by db/leases.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from bridge_matching.db.records import Conn, maybe_row, one_row
from bridge_matching.domain.rows import ImportJobRow


async def create(
    conn: Conn, cohort_id: uuid.UUID, created_by: str, now: datetime, source: str
) -> ImportJobRow:
    """A queued job; the CSV is kept on the row until the job finishes, so another instance can run it."""
    return one_row(
        ImportJobRow,
        await conn.fetchrow(
            "INSERT INTO import_jobs (id, cohort_id, status, created_by, created_at, source) "
            "VALUES ($1, $2, 'queued', $3, $4, $5) RETURNING *",
            uuid.uuid4(),
            cohort_id,
            created_by,
            now,
            source,
        ),
    )


async def get(conn: Conn, job_id: uuid.UUID) -> ImportJobRow | None:
    return maybe_row(ImportJobRow, await conn.fetchrow("SELECT * FROM import_jobs WHERE id = $1", job_id))


async def start_progress(conn: Conn, job_id: uuid.UUID, owner: str, total: int) -> None:
    await conn.execute(
        "UPDATE import_jobs SET total = $2, processed = 0 WHERE id = $1 AND lease_owner = $3",
        job_id,
        total,
        owner,
    )


async def set_processed(conn: Conn, job_id: uuid.UUID, owner: str, processed: int) -> None:
    await conn.execute(
        "UPDATE import_jobs SET processed = $2 WHERE id = $1 AND lease_owner = $3", job_id, processed, owner
    )


async def complete(
    conn: Conn, job_id: uuid.UUID, total: int, report: dict[str, Any], now: datetime
) -> None:  # Any: the report document
    await conn.execute(
        """UPDATE import_jobs SET status = 'completed', total = $2, processed = $2, report = $3,
                  finished_at = $4, source = NULL, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = $1""",
        job_id,
        total,
        report,
        now,
    )


async def fail(
    conn: Conn, job_id: uuid.UUID, owner: str, error: str, now: datetime, report: dict[str, Any] | None
) -> None:  # Any: the report document
    """The job failed, if this owner still runs it (a report given replaces the stored one)."""
    await conn.execute(
        """UPDATE import_jobs SET status = 'failed', error = $3, finished_at = $4,
                  report = coalesce($5, report), source = NULL, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = $1 AND lease_owner = $2 AND status = 'running'""",
        job_id,
        owner,
        error,
        now,
        report,
    )
