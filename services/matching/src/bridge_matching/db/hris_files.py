"""The hris_files table: one row per HRIS delta file delivery (name + SHA-256 of its content), with
how far its rows have been written (app/hris_sync.py); and what privacy needs of it (docs/privacy.md):
the rows an export shows, the retention job's clearing of reports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bridge_matching.db.records import Conn, as_rows, maybe_row

FileStatus = Literal["processing", "processed", "failed"]


@dataclass(frozen=True, slots=True)
class HrisFileRow:
    id: uuid.UUID
    name: str
    sha256: str
    size_bytes: int
    modified_at: datetime
    status: FileStatus  # the column's CHECK allows exactly these
    error: str | None
    report: dict[str, Any] | None  # Any: the report document (counts and rejected rows)
    rows_done: int
    progress: dict[str, Any]  # Any: the written batches' counts and refused rows
    owner: str
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A file as it was read: what identifies the delivery, and what the row records about it."""

    name: str
    sha256: str
    size_bytes: int
    modified_at: datetime


async def by_delivery(conn: Conn, name: str, sha256: str) -> HrisFileRow | None:
    return maybe_row(
        HrisFileRow,
        await conn.fetchrow("SELECT * FROM hris_files WHERE name = $1 AND sha256 = $2", name, sha256),
    )


async def claim(conn: Conn, delivery: Delivery, owner: str, now: datetime) -> HrisFileRow | None:
    """The delivery's row, 'processing' for `owner`; None when it has a row already (an instance
    inserting the same delivery at the same moment waits on the unique index, then gets None)."""
    return maybe_row(
        HrisFileRow,
        await conn.fetchrow(
            """INSERT INTO hris_files (id, name, sha256, size_bytes, modified_at, status, owner, started_at)
               VALUES ($1, $2, $3, $4, $5, 'processing', $6, $7)
               ON CONFLICT ON CONSTRAINT hris_files_delivery DO NOTHING
               RETURNING *""",
            uuid.uuid4(),
            delivery.name,
            delivery.sha256,
            delivery.size_bytes,
            delivery.modified_at,
            owner,
            now,
        ),
    )


async def take_over(conn: Conn, file_id: uuid.UUID, owner: str) -> HrisFileRow | None:
    """A delivery still 'processing' becomes `owner`'s (its poll stopped); None once it finished. The
    previous owner's next batch finds it is no longer theirs (`owned`) and stops."""
    return maybe_row(
        HrisFileRow,
        await conn.fetchrow(
            "UPDATE hris_files SET owner = $2 WHERE id = $1 AND status = 'processing' RETURNING *",
            file_id,
            owner,
        ),
    )


async def owned(conn: Conn, file_id: uuid.UUID, owner: str) -> bool:
    """Locks the delivery's row (inside the caller's transaction) and says whether `owner` still
    processes it."""
    row = await conn.fetchrow("SELECT status, owner FROM hris_files WHERE id = $1 FOR UPDATE", file_id)
    return row is not None and row["status"] == "processing" and row["owner"] == owner


async def advance(
    conn: Conn, file_id: uuid.UUID, rows_done: int, progress: dict[str, Any]
) -> None:  # Any: the progress document
    await conn.execute(
        "UPDATE hris_files SET rows_done = $2, progress = $3 WHERE id = $1", file_id, rows_done, progress
    )


async def finish(
    conn: Conn,
    file_id: uuid.UUID,
    *,
    report: dict[str, Any] | None,  # Any: the report document
    error: str | None,
    now: datetime,
) -> HrisFileRow:
    """'processed' with its report, or 'failed' with `error` (and the report of what was written)."""
    row = maybe_row(
        HrisFileRow,
        await conn.fetchrow(
            """UPDATE hris_files SET status = CASE WHEN $3::text IS NULL THEN 'processed' ELSE 'failed' END,
                      report = $2, error = $3, finished_at = $4
                WHERE id = $1 RETURNING *""",
            file_id,
            report,
            error,
            now,
        ),
    )
    if row is None:
        raise LookupError(f"HRIS file {file_id} is missing")
    return row


async def record_failed(
    conn: Conn, delivery: Delivery, error: str, owner: str, now: datetime
) -> HrisFileRow | None:
    """A delivery none of whose rows could be applied (the file could not be read); None when it has
    a row already."""
    return maybe_row(
        HrisFileRow,
        await conn.fetchrow(
            """INSERT INTO hris_files (id, name, sha256, size_bytes, modified_at, status, error, owner,
                                       started_at, finished_at)
               VALUES ($1, $2, $3, $4, $5, 'failed', $6, $7, $8, $8)
               ON CONFLICT ON CONSTRAINT hris_files_delivery DO NOTHING
               RETURNING *""",
            uuid.uuid4(),
            delivery.name,
            delivery.sha256,
            delivery.size_bytes,
            delivery.modified_at,
            error,
            owner,
            now,
        ),
    )


async def get(conn: Conn, file_id: uuid.UUID) -> HrisFileRow | None:
    return maybe_row(HrisFileRow, await conn.fetchrow("SELECT * FROM hris_files WHERE id = $1", file_id))


async def page(conn: Conn, limit: int, offset: int) -> list[HrisFileRow]:
    """Newest first, each report without its rejected rows (`errors`: up to thousands a file; the
    file's own row has them) and without the progress document."""
    return as_rows(
        HrisFileRow,
        await conn.fetch(
            """SELECT id, name, sha256, size_bytes, modified_at, status, error, report - 'errors' AS report,
                      rows_done, '{}'::jsonb AS progress, owner, started_at, finished_at
                 FROM hris_files ORDER BY started_at DESC, id DESC LIMIT $1 OFFSET $2""",
            limit,
            offset,
        ),
    )


# -- privacy: erasure, export and retention (docs/privacy.md) ----------------------------------------

CLEARED_ERROR = "the reason was cleared by the retention job (retention_hris_reports_days)"


async def errors_about(conn: Conn, employee_id: str) -> list[dict[str, Any]]:  # Any: JSON values
    """The rejected rows of finished deliveries' reports that carry this employee id (compared
    case-insensitively), with their delivery's name and time: what an export shows of them."""
    rows = await conn.fetch(
        """SELECT f.id AS file_id, f.name AS file_name, f.started_at AS delivered_at,
                  (e->>'line')::int AS line, e->>'field' AS field, e->>'message' AS message
             FROM hris_files f,
                  jsonb_array_elements(CASE WHEN jsonb_typeof(f.report->'errors') = 'array'
                                            THEN f.report->'errors' ELSE '[]'::jsonb END) e
            WHERE lower(e->>'employee_id') = lower($1)
            ORDER BY f.started_at, f.id, line""",
        employee_id,
    )
    return [dict(r) for r in rows]


async def clear_reports_before(conn: Conn, before: datetime, limit: int, now: datetime) -> int:
    """Up to `limit` deliveries finished before `before` lose what names people: the report's
    rejected rows (`errors` becomes empty, `errors_cleared` true; the counts stay), the progress
    document and a failure's reason. The row itself stays: it is what keeps a file from being applied
    twice."""
    status = await conn.execute(
        """UPDATE hris_files
               SET report = CASE WHEN report IS NULL THEN NULL
                                 ELSE report || '{"errors": [], "errors_cleared": true}'::jsonb END,
                   progress = '{}'::jsonb,
                   error = CASE WHEN error IS NULL THEN NULL ELSE $4 END,
                   cleared_at = $3
             WHERE id IN (SELECT id FROM hris_files WHERE cleared_at IS NULL AND finished_at < $1
                           ORDER BY finished_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)""",
        before,
        limit,
        now,
        CLEARED_ERROR,
    )
    return int(status.split()[-1])
