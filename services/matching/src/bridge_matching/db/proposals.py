"""The proposals table."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from bridge_matching.db.records import Conn, as_rows, for_update, maybe_row, one_row, to_json
from bridge_matching.domain.rows import NewProposal, ProposalRow, Side


async def insert_many(
    conn: Conn,
    cohort_id: uuid.UUID,
    run_id: uuid.UUID | None,
    source: str,
    requested_by: uuid.UUID | None,
    rows: Sequence[NewProposal],
    expires_at: datetime,
    now: datetime,
) -> list[ProposalRow]:
    return as_rows(
        ProposalRow,
        await conn.fetch(
            """INSERT INTO proposals (id, cohort_id, run_id, source, requested_by, mentor_id, mentee_id,
                                  score, breakdown, explanation, expires_at, created_at)
           SELECT gen_random_uuid(), $1, $2, $3, $4, m, e, s, b::jsonb, x, $10, $11
             FROM unnest($5::uuid[], $6::uuid[], $7::float8[], $8::text[], $9::text[]) AS t(m, e, s, b, x)
           RETURNING *""",
            cohort_id,
            run_id,
            source,
            requested_by,
            [r.mentor_id for r in rows],
            [r.mentee_id for r in rows],
            [r.score for r in rows],
            [to_json(r.breakdown) for r in rows],
            [r.explanation for r in rows],
            expires_at,
            now,
        ),
    )


async def get(conn: Conn, proposal_id: uuid.UUID, *, lock: bool = False) -> ProposalRow | None:
    return maybe_row(
        ProposalRow,
        await conn.fetchrow(f"SELECT * FROM proposals WHERE id = $1{for_update(lock)}", proposal_id),
    )


async def list_for_cohort(
    conn: Conn,
    cohort_id: uuid.UUID,
    status: str | None,
    participant_id: uuid.UUID | None = None,
    regions: Sequence[str] | None = None,
) -> list[ProposalRow]:
    """The cohort's proposals; with `regions`, only those with at least one person from those regions."""
    return as_rows(
        ProposalRow,
        await conn.fetch(
            """SELECT * FROM proposals x WHERE cohort_id = $1 AND ($2::text IS NULL OR status = $2)
             AND ($3::uuid IS NULL OR mentor_id = $3 OR mentee_id = $3)
             AND ($4::text[] IS NULL OR EXISTS (SELECT 1 FROM participants p
                   WHERE p.id IN (x.mentor_id, x.mentee_id) AND p.region = ANY($4)))
           ORDER BY created_at, id""",
            cohort_id,
            status,
            participant_id,
            None if regions is None else list(regions),
        ),
    )


async def pending_with(conn: Conn, participant_id: uuid.UUID) -> list[ProposalRow]:
    """Open proposals the participant is in, locked."""
    return as_rows(
        ProposalRow,
        await conn.fetch(
            "SELECT * FROM proposals WHERE status = 'pending' AND (mentor_id = $1 OR mentee_id = $1) "
            "FOR UPDATE",
            participant_id,
        ),
    )


async def record_acceptance(conn: Conn, proposal_id: uuid.UUID, side: Side, now: datetime) -> ProposalRow:
    return one_row(
        ProposalRow,
        await conn.fetchrow(
            f"UPDATE proposals SET {side}_response = 'accepted', {side}_responded_at = $2 "
            "WHERE id = $1 RETURNING *",
            proposal_id,
            now,
        ),
    )


async def mark_accepted(conn: Conn, proposal_id: uuid.UUID, pair_id: uuid.UUID, now: datetime) -> ProposalRow:
    return one_row(
        ProposalRow,
        await conn.fetchrow(
            "UPDATE proposals SET status = 'accepted', resolved_at = $2, pair_id = $3 "
            "WHERE id = $1 RETURNING *",
            proposal_id,
            now,
            pair_id,
        ),
    )


async def record_decline(
    conn: Conn, proposal_id: uuid.UUID, side: Side, by: uuid.UUID, reason: str | None, now: datetime
) -> ProposalRow:
    return one_row(
        ProposalRow,
        await conn.fetchrow(
            f"""UPDATE proposals SET {side}_response = 'declined', {side}_responded_at = $2,
                   status = 'declined',
                   resolved_at = $2, decline_reason = $3, declined_by = $4 WHERE id = $1 RETURNING *""",
            proposal_id,
            now,
            reason,
            by,
        ),
    )


async def cancel(conn: Conn, proposal_id: uuid.UUID, by: uuid.UUID, reason: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE proposals SET status = 'cancelled', resolved_at = $2, decline_reason = $3, declined_by = $4 "
        "WHERE id = $1",
        proposal_id,
        now,
        reason,
        by,
    )


async def expire_due(conn: Conn, now: datetime, limit: int = 5000) -> list[ProposalRow]:
    """Pending proposals past expires_at become expired (at most `limit`; rows locked elsewhere wait)."""
    return as_rows(
        ProposalRow,
        await conn.fetch(
            """UPDATE proposals SET status = 'expired', resolved_at = $1
            WHERE id IN (SELECT id FROM proposals WHERE status = 'pending' AND expires_at <= $1
                         ORDER BY expires_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING *""",
            now,
            limit,
        ),
    )
