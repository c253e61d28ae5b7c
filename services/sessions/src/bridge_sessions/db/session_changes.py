"""The lifecycle SQL a pair's session (sessions) and a circle's session (circle_sessions) share: both
go scheduled -> held | cancelled, and every change to a scheduled one raises its invite's SEQUENCE
(same UID), so calendars move or cancel the event they already have.

Each function takes the table and returns the raw record; db/sessions.py and db/circle_sessions.py
turn it into their own row type. What differs between the two (what a held session records, a
circle's activity) stays in those modules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import asyncpg

from bridge_sessions.db import Conn

SessionTable = Literal["sessions", "circle_sessions"]
_OWNER: dict[SessionTable, str] = {"sessions": "relationship_id", "circle_sessions": "circle_id"}
"""The column naming what a session belongs to: the relationship, or the circle."""


async def get(
    conn: Conn, table: SessionTable, owner_id: UUID | str, session_id: UUID, *, lock: bool
) -> asyncpg.Record | None:
    """The session if it belongs to `owner_id` (a session id from another relationship or circle is
    not found)."""
    return await conn.fetchrow(
        f"SELECT * FROM {table} WHERE id = $1 AND {_OWNER[table]} = $2" + (" FOR UPDATE" if lock else ""),
        session_id,
        owner_id,
    )


async def for_owner(conn: Conn, table: SessionTable, owner_id: UUID | str) -> list[asyncpg.Record]:
    """The relationship's or circle's sessions, in time order."""
    return await conn.fetch(
        f"SELECT * FROM {table} WHERE {_OWNER[table]} = $1 ORDER BY starts_at, id", owner_id
    )


async def reschedule(
    conn: Conn,
    table: SessionTable,
    session_id: UUID,
    *,
    starts_at: datetime,
    duration_minutes: int | None,
    location: tuple[str | None] | None,
    now: datetime,
) -> asyncpg.Record | None:
    """`duration_minutes` None keeps it; `location` None keeps it, `(value,)` sets it (even to null)."""
    return await conn.fetchrow(
        f"""UPDATE {table} SET starts_at = $2, duration_minutes = coalesce($3, duration_minutes),
                  location = CASE WHEN $4 THEN $5 ELSE location END, ical_sequence = ical_sequence + 1,
                  updated_at = $6
           WHERE id = $1 RETURNING *""",
        session_id,
        starts_at,
        duration_minutes,
        location is not None,
        location[0] if location is not None else None,
        now,
    )


async def cancel(
    conn: Conn, table: SessionTable, session_id: UUID, *, by: str, reason: str | None, now: datetime
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""UPDATE {table} SET status = 'cancelled', cancelled_by = $2, cancel_reason = $3,
                  cancelled_at = $4, ical_sequence = ical_sequence + 1, updated_at = $4
           WHERE id = $1 RETURNING *""",
        session_id,
        by,
        reason,
        now,
    )


async def cancel_upcoming(
    conn: Conn, table: SessionTable, owner_id: UUID | str, *, by: str, reason: str, now: datetime
) -> list[asyncpg.Record]:
    """Cancels the sessions still to come of a relationship or circle that has closed."""
    return await conn.fetch(
        f"""UPDATE {table} SET status = 'cancelled', cancelled_by = $2, cancelled_at = $3,
                  cancel_reason = $4, ical_sequence = ical_sequence + 1, updated_at = $3
           WHERE {_OWNER[table]} = $1 AND status = 'scheduled' AND starts_at > $3 RETURNING *""",
        owner_id,
        by,
        now,
        reason,
    )


async def count_held(conn: Conn, table: SessionTable, owner_id: UUID | str) -> int:
    held: int = await conn.fetchval(
        f"SELECT count(*) FROM {table} WHERE {_OWNER[table]} = $1 AND status = 'held'", owner_id
    )
    return held
