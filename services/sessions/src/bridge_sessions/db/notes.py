"""session_private_notes: one note per (session, author), readable by its author only."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from bridge_sessions.db import Conn


async def of(conn: Conn, session_id: UUID, author_id: str) -> str | None:
    body: str | None = await conn.fetchval(
        "SELECT body FROM session_private_notes WHERE session_id = $1 AND author_id = $2",
        session_id,
        author_id,
    )
    return body


async def by_session(conn: Conn, relationship_id: UUID, author_id: str) -> dict[UUID, str]:
    """The author's notes on the relationship's sessions, by session id."""
    rows = await conn.fetch(
        "SELECT n.session_id, n.body FROM session_private_notes n "
        "JOIN sessions s ON s.id = n.session_id "
        "WHERE s.relationship_id = $1 AND n.author_id = $2",
        relationship_id,
        author_id,
    )
    return {r["session_id"]: r["body"] for r in rows}


async def put(conn: Conn, session_id: UUID, author_id: str, body: str, now: datetime) -> None:
    await conn.execute(
        """INSERT INTO session_private_notes (session_id, author_id, body, updated_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (session_id, author_id)
           DO UPDATE SET body = EXCLUDED.body, updated_at = EXCLUDED.updated_at""",
        session_id,
        author_id,
        body,
        now,
    )
