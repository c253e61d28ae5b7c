"""Matching runs and their draft pairs (matching_runs, draft_pairs)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from bridge_matching.db.records import Conn, as_rows, for_update, maybe_row, to_json
from bridge_matching.domain.rows import DraftPairRow, NewDraftPair, RunOrigin, RunRow, UnmatchedData


async def create(conn: Conn, cohort_id: uuid.UUID, created_by: str, now: datetime) -> RunRow:
    """A queued run for a cohort that has no queued or running run (else LookupError). The use cases
    queue with `queue`; this is kept for tools (bench/matching/end_to_end.py)."""
    run = await queue(conn, cohort_id, created_by, now)
    if run is None:
        raise LookupError(f"cohort {cohort_id} already has a queued or running matching run")
    return run


async def queue(
    conn: Conn,
    cohort_id: uuid.UUID,
    created_by: str,
    now: datetime,
    *,
    origin: RunOrigin = "hr",
    reason: str | None = None,
) -> RunRow | None:
    """A queued run, or None when the cohort already has a queued or running run (at most one: the
    partial unique index; a concurrent insert waits for the other transaction, then does nothing)."""
    return maybe_row(
        RunRow,
        await conn.fetchrow(
            """INSERT INTO matching_runs (id, cohort_id, status, created_by, created_at, updated_at, origin,
                                          reason)
           VALUES ($1, $2, 'queued', $3, $4, $4, $5, $6)
           ON CONFLICT (cohort_id) WHERE status IN ('queued', 'running') DO NOTHING
           RETURNING *""",
            uuid.uuid4(),
            cohort_id,
            created_by,
            now,
            origin,
            reason,
        ),
    )


async def get(conn: Conn, run_id: uuid.UUID, *, lock: bool = False) -> RunRow | None:
    return maybe_row(
        RunRow, await conn.fetchrow(f"SELECT * FROM matching_runs WHERE id = $1{for_update(lock)}", run_id)
    )


async def active(conn: Conn, cohort_id: uuid.UUID) -> RunRow | None:
    """The cohort's queued or running run, if any (there is at most one)."""
    return maybe_row(
        RunRow,
        await conn.fetchrow(
            "SELECT * FROM matching_runs WHERE cohort_id = $1 AND status IN ('queued', 'running')", cohort_id
        ),
    )


async def draft_under_review(conn: Conn, cohort_id: uuid.UUID) -> RunRow | None:
    """The cohort's open draft if HR is reviewing it: started by HR, or (an automatic one) with review
    edits (a pinned, removed or swapped pair). An automatic rematch leaves such a draft alone."""
    return maybe_row(
        RunRow,
        await conn.fetchrow(
            """SELECT * FROM matching_runs r
             WHERE r.cohort_id = $1 AND r.status = 'draft'
               AND (r.origin <> 'auto_rematch'
                    OR EXISTS (SELECT 1 FROM draft_pairs d
                                WHERE d.run_id = r.id
                                  AND (d.pinned OR d.removed OR d.origin = 'swapped')))""",
            cohort_id,
        ),
    )


async def list_for_cohort(conn: Conn, cohort_id: uuid.UUID) -> list[RunRow]:
    return as_rows(
        RunRow,
        await conn.fetch(
            "SELECT * FROM matching_runs WHERE cohort_id = $1 ORDER BY created_at, id", cohort_id
        ),
    )


async def lock_drafts(conn: Conn, cohort_id: uuid.UUID) -> None:
    """Locks the cohort's draft runs (lock order: run rows first, then the cohort)."""
    await conn.execute(
        "SELECT id FROM matching_runs WHERE cohort_id = $1 AND status = 'draft' FOR UPDATE", cohort_id
    )


async def supersede_drafts(conn: Conn, cohort_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        "UPDATE matching_runs SET status = 'superseded', updated_at = $2 "
        "WHERE cohort_id = $1 AND status = 'draft'",
        cohort_id,
        now,
    )


async def store_draft(
    conn: Conn,
    run_id: uuid.UUID,
    stats: dict[str, Any],  # Any: the statistics document (domain.matching.run_stats)
    unmatched: list[UnmatchedData],
    drafts: Sequence[NewDraftPair],
    now: datetime,
) -> None:
    """The run becomes a draft with these pairs; a re-solve replaces the pairs, removed ones stay recorded."""
    await conn.execute(
        """UPDATE matching_runs SET status = 'draft', stats = $2, unmatched = $3, updated_at = $4,
                  finished_at = $4, error = NULL, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = $1""",
        run_id,
        stats,
        unmatched,
        now,
    )
    await conn.execute("DELETE FROM draft_pairs WHERE run_id = $1 AND NOT removed", run_id)
    await insert_draft_pairs(conn, run_id, drafts)


async def record_failed_attempt(
    conn: Conn,
    run_id: uuid.UUID,
    owner: str,
    stage: str,
    error: str,
    now: datetime,
    retry_in: float,
) -> bool:
    """A transient failure of this owner's current attempt, and the next attempt counted (`attempts`);
    False when this owner no longer runs the run (its lease was taken over)."""
    status = await conn.execute(
        """UPDATE matching_runs
              SET failed_attempts = failed_attempts || jsonb_build_array(jsonb_build_object(
                      'attempt', attempts, 'stage', $3::text, 'error', $4::text, 'transient', true,
                      'at', $5::timestamptz, 'retry_in_seconds', $6::float8)),
                  attempts = attempts + 1, updated_at = $5
            WHERE id = $1 AND lease_owner = $2 AND status = 'running'""",
        run_id,
        owner,
        stage,
        error,
        now,
        retry_in,
    )
    return status.endswith(" 1")


async def fail(
    conn: Conn,
    run_id: uuid.UUID,
    owner: str,
    error: str,
    now: datetime,
    *,
    stage: str,
    transient: bool,
) -> None:
    """The run failed, if this owner still runs it; the last attempt is recorded with the error."""
    await conn.execute(
        """UPDATE matching_runs SET status = 'failed', error = $3, finished_at = $4, updated_at = $4,
                  lease_owner = NULL, lease_expires_at = NULL,
                  failed_attempts = failed_attempts || jsonb_build_array(jsonb_build_object(
                      'attempt', attempts, 'stage', $5::text, 'error', $3::text, 'transient', $6::bool,
                      'at', $4::timestamptz, 'retry_in_seconds', NULL))
            WHERE id = $1 AND lease_owner = $2 AND status = 'running'""",
        run_id,
        owner,
        error,
        now,
        stage,
        transient,
    )


async def requeue(conn: Conn, run_id: uuid.UUID, now: datetime) -> bool:
    """A draft goes back to the queue to be re-solved in place; False when another run of the cohort was
    queued meanwhile (at most one queued or running run per cohort)."""
    try:
        async with conn.transaction():  # a savepoint: the caller's transaction stays usable
            await conn.execute(
                "UPDATE matching_runs SET status = 'queued', error = NULL, finished_at = NULL, "
                "updated_at = $2 WHERE id = $1",
                run_id,
                now,
            )
    except asyncpg.UniqueViolationError:
        return False
    return True


async def mark_published(conn: Conn, run_id: uuid.UUID, by: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE matching_runs SET status = 'published', published_at = $2, published_by = $3, "
        "updated_at = $2 "
        "WHERE id = $1",
        run_id,
        now,
        by,
    )


# --- draft pairs -----------------------------------------------------------------------------------


async def insert_draft_pairs(conn: Conn, run_id: uuid.UUID, pairs: Sequence[NewDraftPair]) -> None:
    if not pairs:
        return
    await conn.execute(
        """INSERT INTO draft_pairs (id, run_id, mentor_id, mentee_id, score, breakdown, explanation,
                                    violations, pinned, origin)
           SELECT gen_random_uuid(), $1, m, e, s, b::jsonb, x, coalesce(string_to_array(v, ','), '{}'), pin, o
             FROM unnest($2::uuid[], $3::uuid[], $4::float8[], $5::text[], $6::text[], $7::text[],
                         $8::bool[], $9::text[]) AS t(m, e, s, b, x, v, pin, o)""",
        run_id,
        [p.mentor_id for p in pairs],
        [p.mentee_id for p in pairs],
        [p.score for p in pairs],
        [to_json(p.breakdown) for p in pairs],
        [p.explanation for p in pairs],
        [",".join(p.violations) or None for p in pairs],
        [p.pinned for p in pairs],
        [p.origin for p in pairs],
    )


async def draft_pairs(
    conn: Conn, run_id: uuid.UUID, *, include_removed: bool = False, regions: Sequence[str] | None = None
) -> list[DraftPairRow]:
    """The run's draft pairs; with `regions`, only those with at least one person from those regions."""
    removed = "" if include_removed else " AND NOT d.removed"
    return as_rows(
        DraftPairRow,
        await conn.fetch(
            f"""SELECT d.*, m.employee_id AS mentor_employee_id, e.employee_id AS mentee_employee_id
              FROM draft_pairs d
              JOIN participants m ON m.id = d.mentor_id
              JOIN participants e ON e.id = d.mentee_id
             WHERE d.run_id = $1{removed}
               AND ($2::text[] IS NULL OR m.region = ANY($2) OR e.region = ANY($2))
             ORDER BY m.employee_id, e.employee_id""",
            run_id,
            None if regions is None else list(regions),
        ),
    )


async def get_draft_pair(conn: Conn, run_id: uuid.UUID, pair_id: uuid.UUID) -> DraftPairRow | None:
    """A draft pair that is not removed, locked."""
    return maybe_row(
        DraftPairRow,
        await conn.fetchrow(
            """SELECT d.*, m.employee_id AS mentor_employee_id, e.employee_id AS mentee_employee_id
              FROM draft_pairs d
              JOIN participants m ON m.id = d.mentor_id
              JOIN participants e ON e.id = d.mentee_id
             WHERE d.run_id = $1 AND d.id = $2 AND NOT d.removed FOR UPDATE OF d""",
            run_id,
            pair_id,
        ),
    )


async def set_pinned(conn: Conn, pair_id: uuid.UUID, pinned: bool) -> None:
    await conn.execute("UPDATE draft_pairs SET pinned = $2 WHERE id = $1", pair_id, pinned)


async def mark_removed(conn: Conn, pair_id: uuid.UUID) -> None:
    await conn.execute("UPDATE draft_pairs SET removed = true, pinned = false WHERE id = $1", pair_id)


async def delete_draft_pairs(conn: Conn, pair_ids: Sequence[uuid.UUID]) -> None:
    await conn.execute("DELETE FROM draft_pairs WHERE id = ANY($1::uuid[])", list(pair_ids))
