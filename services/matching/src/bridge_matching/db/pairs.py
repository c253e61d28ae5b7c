"""The pairs table."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from bridge_matching.db.records import Conn, as_rows, for_update, maybe_row, one_row
from bridge_matching.domain.rows import PairRow


async def insert(
    conn: Conn,
    *,
    cohort_id: uuid.UUID,
    run_id: uuid.UUID | None,
    mentor_id: uuid.UUID,
    mentee_id: uuid.UUID,
    score: float,
    breakdown: dict[str, float],
    explanation: str,
    proposal_id: uuid.UUID | None,
    origin: str,
    now: datetime,
) -> PairRow:
    return one_row(
        PairRow,
        await conn.fetchrow(
            """INSERT INTO pairs (id, cohort_id, run_id, mentor_id, mentee_id, score, breakdown, explanation,
                              proposal_id, origin, created_at, formed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING *""",
            uuid.uuid4(),
            cohort_id,
            run_id,
            mentor_id,
            mentee_id,
            score,
            breakdown,
            explanation,
            proposal_id,
            origin,
            now,
        ),
    )


async def get(conn: Conn, pair_id: uuid.UUID, *, lock: bool = False) -> PairRow | None:
    return maybe_row(
        PairRow, await conn.fetchrow(f"SELECT * FROM pairs WHERE id = $1{for_update(lock)}", pair_id)
    )


async def list_for_cohort(
    conn: Conn, cohort_id: uuid.UUID, status: str | None, regions: Sequence[str] | None = None
) -> list[PairRow]:
    """The cohort's pairs; with `regions`, only those with at least one person from those regions."""
    return as_rows(
        PairRow,
        await conn.fetch(
            """SELECT * FROM pairs x WHERE cohort_id = $1 AND ($2::text IS NULL OR status = $2)
                 AND ($3::text[] IS NULL OR EXISTS (SELECT 1 FROM participants p
                       WHERE p.id IN (x.mentor_id, x.mentee_id) AND p.region = ANY($3)))
             ORDER BY created_at, id""",
            cohort_id,
            status,
            None if regions is None else list(regions),
        ),
    )


async def formed_with(conn: Conn, participant_id: uuid.UUID) -> list[PairRow]:
    """Formed pairs the participant is in, locked."""
    return as_rows(
        PairRow,
        await conn.fetch(
            "SELECT * FROM pairs WHERE status = 'formed' AND (mentor_id = $1 OR mentee_id = $1) FOR UPDATE",
            participant_id,
        ),
    )


async def dissolve(conn: Conn, pair_id: uuid.UUID, reason: str, by: str, now: datetime) -> PairRow:
    return one_row(
        PairRow,
        await conn.fetchrow(
            """UPDATE pairs SET status = 'dissolved', dissolved_at = $2, dissolved_reason = $3,
                   dissolved_by = $4
            WHERE id = $1 RETURNING *""",
            pair_id,
            now,
            reason,
            by,
        ),
    )


async def end(conn: Conn, pair_id: uuid.UUID, outcome: str, at: datetime) -> PairRow | None:
    """A formed pair whose relationship closed: 'ended' (None when it is not formed any more, e.g.
    dissolved by HR first, or already ended)."""
    row = await conn.fetchrow(
        """UPDATE pairs SET status = 'ended', ended_at = $2, ended_outcome = $3
            WHERE id = $1 AND status = 'formed' RETURNING *""",
        pair_id,
        at,
        outcome,
    )
    return maybe_row(PairRow, row)
