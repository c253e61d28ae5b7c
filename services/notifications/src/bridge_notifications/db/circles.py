"""Circle sessions as notifications needs to remember them: the activity each was scheduled with."""

from __future__ import annotations

from bridge_notifications.db import affected
from bridge_shared.db.connection import Conn


async def record_session(conn: Conn, session_id: str, circle_id: str, activity_id: str | None) -> None:
    """The session's activity as scheduled (a redelivery or a later schedule of the same session
    keeps the latest)."""
    await conn.execute(
        """INSERT INTO circle_sessions (session_id, circle_id, activity_id) VALUES ($1, $2, $3)
           ON CONFLICT (session_id) DO UPDATE SET activity_id = EXCLUDED.activity_id""",
        session_id,
        circle_id,
        activity_id,
    )


async def session_activity(conn: Conn, session_id: str) -> str | None:
    """The activity the session was scheduled with (None: none picked, or the session is unknown)."""
    activity: str | None = await conn.fetchval(
        "SELECT activity_id FROM circle_sessions WHERE session_id = $1", session_id
    )
    return activity


async def forget_circle(conn: Conn, circle_id: str) -> int:
    """The circle ended: nothing of it is needed any more."""
    return affected(await conn.execute("DELETE FROM circle_sessions WHERE circle_id = $1", circle_id))
