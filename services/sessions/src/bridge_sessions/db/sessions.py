"""sessions: one row per session, scheduled -> held | cancelled; every change to a scheduled session
raises its invite's SEQUENCE."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from bridge_sessions.db import Conn
from bridge_sessions.db import session_changes as changes
from bridge_sessions.domain.rows import ActionItemData, HeldTopicsRow, SessionRow, Topic


@dataclass(frozen=True, slots=True)
class Held:
    held_at: datetime
    actual_duration_minutes: int
    topics: list[Topic]
    shared_notes: str | None
    action_items: list[ActionItemData]
    recorded_by: str


def _row(record: asyncpg.Record | None) -> SessionRow:
    assert record is not None, "the session was read (and locked) in this transaction"
    return SessionRow(**record)


async def for_relationship(conn: Conn, relationship_id: UUID) -> list[SessionRow]:
    return [SessionRow(**r) for r in await changes.for_owner(conn, "sessions", relationship_id)]


async def get(
    conn: Conn, relationship_id: UUID, session_id: UUID, *, lock: bool = False
) -> SessionRow | None:
    row = await changes.get(conn, "sessions", relationship_id, session_id, lock=lock)
    return None if row is None else SessionRow(**row)


async def insert(
    conn: Conn,
    *,
    session_id: UUID,
    relationship_id: UUID,
    starts_at: datetime,
    duration_minutes: int,
    location: str | None,
    ical_uid: str,
    scheduled_by: str,
    now: datetime,
    logged: bool = False,
) -> SessionRow:
    """A scheduled session (``logged``: one recorded after it happened, which `mark_held` completes
    in the same transaction)."""
    return _row(
        await conn.fetchrow(
            """INSERT INTO sessions (id, relationship_id, status, starts_at, duration_minutes, location,
                      ical_uid, ical_sequence, scheduled_by, created_at, updated_at, logged)
               VALUES ($1, $2, 'scheduled', $3, $4, $5, $6, 0, $7, $8, $8, $9) RETURNING *""",
            session_id,
            relationship_id,
            starts_at,
            duration_minutes,
            location,
            ical_uid,
            scheduled_by,
            now,
            logged,
        )
    )


async def reschedule(
    conn: Conn,
    session_id: UUID,
    *,
    starts_at: datetime,
    duration_minutes: int | None,
    location: tuple[str | None] | None,
    now: datetime,
) -> SessionRow:
    """`duration_minutes` None keeps it; `location` None keeps it, `(value,)` sets it (even to null)."""
    return _row(
        await changes.reschedule(
            conn,
            "sessions",
            session_id,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            location=location,
            now=now,
        )
    )


async def cancel(conn: Conn, session_id: UUID, *, by: str, reason: str | None, now: datetime) -> SessionRow:
    return _row(await changes.cancel(conn, "sessions", session_id, by=by, reason=reason, now=now))


async def cancel_upcoming(conn: Conn, relationship_id: UUID, *, by: str, now: datetime) -> list[SessionRow]:
    """Cancels the relationship's sessions still to come (it has closed)."""
    rows = await changes.cancel_upcoming(
        conn, "sessions", relationship_id, by=by, reason="relationship closed", now=now
    )
    return [SessionRow(**r) for r in rows]


async def mark_held(conn: Conn, session_id: UUID, held: Held, now: datetime) -> SessionRow:
    return _row(
        await conn.fetchrow(
            """UPDATE sessions SET status = 'held', held_at = $2, actual_duration_minutes = $3, topics = $4,
                      shared_notes = $5, action_items = $6, recorded_by = $7, updated_at = $8,
                      shared_notes_by = CASE WHEN $5::text IS NULL THEN NULL ELSE $7 END
               WHERE id = $1 RETURNING *""",
            session_id,
            held.held_at,
            held.actual_duration_minutes,
            held.topics,
            held.shared_notes,
            held.action_items,
            held.recorded_by,
            now,
        )
    )


async def set_shared_notes(conn: Conn, session_id: UUID, body: str, author_id: str) -> SessionRow:
    """`author_id` (employee id) is kept as the notes' author: an erasure deletes what they wrote."""
    return _row(
        await conn.fetchrow(
            "UPDATE sessions SET shared_notes = $2, shared_notes_by = $3, updated_at = updated_at "
            "WHERE id = $1 RETURNING *",
            session_id,
            body,
            author_id,
        )
    )


async def count_held(conn: Conn, relationship_id: UUID) -> int:
    return await changes.count_held(conn, "sessions", relationship_id)


async def held_topics(conn: Conn, relationship_id: UUID) -> list[HeldTopicsRow]:
    """The relationship's held sessions, latest first."""
    rows = await conn.fetch(
        "SELECT held_at, topics FROM sessions WHERE relationship_id = $1 AND status = 'held' "
        "ORDER BY held_at DESC",
        relationship_id,
    )
    return [HeldTopicsRow(**r) for r in rows]


async def reissue_upcoming(conn: Conn, relationship_id: UUID, now: datetime) -> list[SessionRow]:
    """The relationship's sessions still to come, each with its invite's SEQUENCE raised (same UID,
    same time): their invites are about to be sent again with a changed attendee or time zone."""
    rows = await conn.fetch(
        """UPDATE sessions SET ical_sequence = ical_sequence + 1, updated_at = $2
            WHERE relationship_id = $1 AND status = 'scheduled' AND starts_at > $2 RETURNING *""",
        relationship_id,
        now,
    )
    return sorted((SessionRow(**r) for r in rows), key=lambda s: (s.starts_at, s.id))
