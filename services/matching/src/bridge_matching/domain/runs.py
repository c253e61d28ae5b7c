"""Matching runs as background jobs: queued -> running -> draft (or failed); a re-solve queues the
draft again and keeps its pins and removals.

POST creates a queued run (at most one queued or running run per cohort); a job runner claims it with a
lease, loads a snapshot of the cohort, solves it in a worker thread (the engine is CPU-bound) and writes
the draft in one short transaction that first checks it still holds the lease. A run whose owner
stopped is claimed again and recomputes the draft from the current data, so it completes exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from typing import Any

import asyncpg

from bridge_matching.db import leases
from bridge_matching.db import repository as repo
from bridge_matching.domain import matching
from bridge_matching.domain.phases import MATCHING_PHASES
from bridge_shared.db.connection import connection, transaction
from bridge_shared.scheduling.clock import Clock

log = logging.getLogger(__name__)
TABLE: leases.JobTable = "matching_runs"


class RunFailed(Exception):
    """The run cannot produce a draft (reported on the run, not retried)."""


async def active_run(conn: repo.Conn, cohort_id: uuid.UUID) -> repo.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM matching_runs WHERE cohort_id = $1 AND status IN ('queued', 'running')", cohort_id
    )


async def create_run(conn: repo.Conn, cohort_id: uuid.UUID, created_by: str, clock: Clock) -> repo.Record:
    now = clock.now()
    return await repo.fetch_one(
        conn,
        """INSERT INTO matching_runs (id, cohort_id, status, created_by, created_at, updated_at)
           VALUES ($1, $2, 'queued', $3, $4, $4) RETURNING *""",
        uuid.uuid4(),
        cohort_id,
        created_by,
        now,
    )


async def execute_run(
    pool: asyncpg.Pool, run_id: uuid.UUID, owner: str, clock: Clock, lease_seconds: float
) -> None:
    """Claims, solves and stores one run; does nothing if another instance holds it or it is done."""
    run = await leases.claim(pool, TABLE, run_id, owner, clock, lease_seconds)
    if run is None:
        return
    try:
        await _execute(pool, run, owner, clock, lease_seconds)
    except asyncio.CancelledError:  # shutting down: hand the run back so the next instance takes it now
        await asyncio.shield(leases.release(pool, TABLE, run_id, owner))
        raise
    except Exception as exc:
        if not isinstance(exc, RunFailed):
            log.exception("matching run %s failed", run_id)
        await pool.execute(
            """UPDATE matching_runs SET status = 'failed', error = $3, finished_at = $4, updated_at = $4,
                      lease_owner = NULL, lease_expires_at = NULL
                WHERE id = $1 AND lease_owner = $2 AND status = 'running'""",
            run_id,
            owner,
            str(exc) if isinstance(exc, RunFailed) else f"{type(exc).__name__}: {exc}",
            clock.now(),
        )


async def _execute(pool: asyncpg.Pool, run: Any, owner: str, clock: Clock, lease_seconds: float) -> None:
    run_id, cohort_id = run["id"], run["cohort_id"]
    async with leases.heartbeat(pool, TABLE, run_id, owner, clock, lease_seconds):
        async with connection(pool) as conn:
            cohort = await repo.get_cohort(conn, cohort_id)
            assert cohort is not None
            state = await matching.load_state(conn, cohort)
            pinned, removed = await _review_edits(conn, state, run_id)
        if len(state.rows) < 2:
            raise RunFailed("A matching run needs at least two enrolled participants.")
        result = await asyncio.to_thread(matching.solve, state, pinned, removed)
        stats = matching.run_stats(result, kept=len(state.occupied))
        unmatched = matching.unmatched_rows(state, result)
        drafts = matching.draft_rows(state, result)
    async with transaction(pool) as conn:
        # Lock order as in the review endpoints: run rows first, then the cohort.
        if not await leases.still_owned(conn, TABLE, run_id, owner):
            log.warning("matching run %s was taken over by another instance; dropping this result", run_id)
            return
        await conn.execute(
            "SELECT id FROM matching_runs WHERE cohort_id = $1 AND status = 'draft' FOR UPDATE", cohort_id
        )
        locked = await repo.get_cohort(conn, cohort_id, for_update=True)
        assert locked is not None
        if locked["phase"] not in MATCHING_PHASES:
            raise RunFailed(f"Cohort moved to phase {locked['phase']!r} while the run was queued.")
        now = clock.now()
        await repo.supersede_drafts(conn, cohort_id, now)
        await conn.execute(
            """UPDATE matching_runs SET status = 'draft', stats = $2, unmatched = $3, updated_at = $4,
                      finished_at = $4, error = NULL, lease_owner = NULL, lease_expires_at = NULL
                WHERE id = $1""",
            run_id,
            stats,
            unmatched,
            now,
        )
        # A re-solve replaces the draft; pins come back from the engine, removed pairs stay recorded.
        await conn.execute("DELETE FROM draft_pairs WHERE run_id = $1 AND NOT removed", run_id)
        await repo.insert_draft_pairs(conn, run_id, drafts)


async def _review_edits(
    conn: repo.Conn, state: matching.CohortState, run_id: uuid.UUID
) -> tuple[list[matching.EmpPair], list[matching.EmpPair]]:
    """A re-solved draft keeps its pins (unless someone withdrew or is now booked) and its removals."""
    pinned: list[matching.EmpPair] = []
    removed: list[matching.EmpPair] = []
    for d in await repo.draft_pairs(conn, run_id, include_removed=True):
        pair = (d["mentor_employee_id"], d["mentee_employee_id"])
        if d["mentor_id"] not in state.by_id or d["mentee_id"] not in state.by_id:
            continue  # someone withdrew: the pin no longer applies
        if d["removed"]:
            removed.append(pair)
        elif d["pinned"] and not matching.capacity_problems(state, *pair):
            pinned.append(pair)
    return pinned, removed


async def requeue(conn: repo.Conn, run_id: uuid.UUID, now: datetime) -> None:
    """A draft goes back to the queue to be re-solved in place (POST /matching-runs/{id}/resolve)."""
    await conn.execute(
        "UPDATE matching_runs SET status = 'queued', error = NULL, finished_at = NULL, updated_at = $2 "
        "WHERE id = $1",
        run_id,
        now,
    )
