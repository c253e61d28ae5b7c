"""feedback: pulse ratings (one per side per held session) and surveys (one per side per kind)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from bridge_sessions.db import Conn
from bridge_sessions.domain.rows import FeedbackRow, Side


async def insert_pulse(
    conn: Conn,
    *,
    feedback_id: UUID,
    relationship_id: UUID,
    by_side: Side,
    by_participant_id: str,
    session_id: UUID,
    rating: int,
    comment: str | None,
    now: datetime,
) -> bool:
    """False when this side has rated this session already."""
    done = await conn.fetchval(
        """INSERT INTO feedback (id, relationship_id, kind, by_side, by_participant_id, session_id,
                  rating, comment, submitted_at)
           VALUES ($1, $2, 'pulse', $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id""",
        feedback_id,
        relationship_id,
        by_side,
        by_participant_id,
        session_id,
        rating,
        comment,
        now,
    )
    return done is not None


async def insert_survey(
    conn: Conn,
    *,
    feedback_id: UUID,
    relationship_id: UUID,
    kind: str,
    by_side: Side,
    by_participant_id: str,
    satisfaction: int,
    recommend_score: int,
    comment: str | None,
    learned: str,
    taught: str,
    now: datetime,
) -> FeedbackRow | None:
    """None when this side has submitted this survey already."""
    row = await conn.fetchrow(
        """INSERT INTO feedback (id, relationship_id, kind, by_side, by_participant_id, rating,
                  recommend_score, comment, learned, taught, submitted_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING RETURNING *""",
        feedback_id,
        relationship_id,
        kind,
        by_side,
        by_participant_id,
        satisfaction,
        recommend_score,
        comment,
        learned,
        taught,
        now,
    )
    return None if row is None else FeedbackRow(**row)


async def for_relationship(conn: Conn, relationship_id: UUID, by_side: Side | None) -> list[FeedbackRow]:
    """All of it, or only what `by_side` gave."""
    rows = await conn.fetch(
        "SELECT * FROM feedback WHERE relationship_id = $1 AND ($2::text IS NULL OR by_side = $2) "
        "ORDER BY submitted_at, id",
        relationship_id,
        by_side,
    )
    return [FeedbackRow(**r) for r in rows]
