"""goals and goal_checkins: each side's goals and their progress check-ins."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from bridge_sessions.db import Conn
from bridge_sessions.domain.rows import CheckInRow, GoalRow, Side


async def for_relationship(conn: Conn, relationship_id: UUID) -> list[GoalRow]:
    rows = await conn.fetch(
        "SELECT * FROM goals WHERE relationship_id = $1 ORDER BY created_at, id", relationship_id
    )
    return [GoalRow(**r) for r in rows]


async def get(conn: Conn, relationship_id: UUID, goal_id: UUID) -> GoalRow | None:
    row = await conn.fetchrow(
        "SELECT * FROM goals WHERE id = $1 AND relationship_id = $2", goal_id, relationship_id
    )
    return None if row is None else GoalRow(**row)


async def get_for_update(conn: Conn, relationship_id: UUID, goal_id: UUID) -> GoalRow | None:
    row = await conn.fetchrow(
        "SELECT * FROM goals WHERE id = $1 AND relationship_id = $2 FOR UPDATE", goal_id, relationship_id
    )
    return None if row is None else GoalRow(**row)


async def insert(
    conn: Conn,
    *,
    goal_id: UUID,
    relationship_id: UUID,
    owner_side: Side,
    owner_participant_id: str,
    title: str,
    description: str | None,
    success_measure: str | None,
    now: datetime,
) -> GoalRow:
    row = await conn.fetchrow(
        """INSERT INTO goals (id, relationship_id, owner_side, owner_participant_id, title, description,
                  success_measure, status, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8) RETURNING *""",
        goal_id,
        relationship_id,
        owner_side,
        owner_participant_id,
        title,
        description,
        success_measure,
        now,
    )
    assert row is not None
    return GoalRow(**row)


async def close(conn: Conn, goal_id: UUID, *, outcome: str, note: str | None, now: datetime) -> GoalRow:
    row = await conn.fetchrow(
        "UPDATE goals SET status = $2, closed_at = $3, close_note = $4 WHERE id = $1 RETURNING *",
        goal_id,
        outcome,
        now,
        note,
    )
    assert row is not None, "the goal was locked in this transaction"
    return GoalRow(**row)


async def add_check_in(
    conn: Conn, *, check_in_id: UUID, goal_id: UUID, rating: int, note: str | None, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO goal_checkins (id, goal_id, rating, note, at) VALUES ($1, $2, $3, $4, $5)",
        check_in_id,
        goal_id,
        rating,
        note,
        now,
    )


async def check_ins(conn: Conn, goal_id: UUID) -> list[CheckInRow]:
    rows = await conn.fetch(
        "SELECT id, rating, note, at FROM goal_checkins WHERE goal_id = $1 ORDER BY at, id", goal_id
    )
    return [CheckInRow(**r) for r in rows]
