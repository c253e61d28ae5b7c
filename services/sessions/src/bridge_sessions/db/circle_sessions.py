"""circle_sessions (scheduled -> held | cancelled; every change to a scheduled session raises its
invite's SEQUENCE) and what a held one recorded: circle_attendance, circle_ideas, circle_learning."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from bridge_sessions.db import Conn
from bridge_sessions.db import session_changes as changes
from bridge_sessions.domain.circle_rows import CircleSessionDetail, CircleSessionRow, IdeaData, LearningData


def _row(record: asyncpg.Record | None) -> CircleSessionRow:
    assert record is not None, "the session was read (and locked) in this transaction"
    return CircleSessionRow(**record)


async def get(conn: Conn, circle_id: str, session_id: UUID, *, lock: bool = False) -> CircleSessionRow | None:
    row = await changes.get(conn, "circle_sessions", circle_id, session_id, lock=lock)
    return None if row is None else CircleSessionRow(**row)


async def details(conn: Conn, sessions: Sequence[CircleSessionRow]) -> list[CircleSessionDetail]:
    """The sessions with their attendance, ideas and learning record (three queries for all)."""
    ids = [s.id for s in sessions]
    present: dict[UUID, list[str]] = defaultdict(list)
    absent: dict[UUID, list[str]] = defaultdict(list)
    for r in await conn.fetch(
        "SELECT * FROM circle_attendance WHERE session_id = ANY($1::uuid[]) ORDER BY participant_id", ids
    ):
        (present if r["present"] else absent)[r["session_id"]].append(r["participant_id"])
    ideas: dict[UUID, list[IdeaData]] = defaultdict(list)
    for r in await conn.fetch(
        "SELECT * FROM circle_ideas WHERE session_id = ANY($1::uuid[]) ORDER BY session_id, position", ids
    ):
        ideas[r["session_id"]].append({"participant_id": r["participant_id"], "text": r["text"]})
    learning: dict[UUID, list[LearningData]] = defaultdict(list)
    for r in await conn.fetch(
        "SELECT * FROM circle_learning WHERE session_id = ANY($1::uuid[]) ORDER BY session_id, position", ids
    ):
        learning[r["session_id"]].append(
            {
                "from_id": r["from_id"],
                "to_id": r["to_id"],
                "from_generation": r["from_generation"],
                "to_generation": r["to_generation"],
                "topic": r["topic"],
            }
        )
    return [
        CircleSessionDetail(
            s, present.get(s.id, []), absent.get(s.id, []), ideas.get(s.id, []), learning.get(s.id, [])
        )
        for s in sessions
    ]


async def for_circle(conn: Conn, circle_id: str) -> list[CircleSessionRow]:
    return [CircleSessionRow(**r) for r in await changes.for_owner(conn, "circle_sessions", circle_id)]


async def insert(
    conn: Conn,
    *,
    session_id: UUID,
    circle_id: str,
    starts_at: datetime,
    duration_minutes: int,
    location: str | None,
    activity_id: str | None,
    ical_uid: str,
    scheduled_by: str,
    now: datetime,
    logged: bool = False,
) -> CircleSessionRow:
    """A scheduled session (``logged``: one recorded after it happened, which `mark_held` completes in
    the same transaction)."""
    return _row(
        await conn.fetchrow(
            """INSERT INTO circle_sessions (id, circle_id, status, starts_at, duration_minutes, location,
                      activity_id, ical_uid, ical_sequence, scheduled_by, created_at, updated_at, logged)
               VALUES ($1, $2, 'scheduled', $3, $4, $5, $6, $7, 0, $8, $9, $9, $10) RETURNING *""",
            session_id,
            circle_id,
            starts_at,
            duration_minutes,
            location,
            activity_id,
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
) -> CircleSessionRow:
    """`duration_minutes` None keeps it; `location` None keeps it, `(value,)` sets it (even to null)."""
    return _row(
        await changes.reschedule(
            conn,
            "circle_sessions",
            session_id,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            location=location,
            now=now,
        )
    )


async def set_activity(conn: Conn, session_id: UUID, activity_id: str | None) -> CircleSessionRow:
    """The facilitator's pick. The invite is not re-sent for it (its SEQUENCE stays): the activity
    shows in the session and in the next invite a change sends."""
    return _row(
        await conn.fetchrow(
            "UPDATE circle_sessions SET activity_id = $2 WHERE id = $1 RETURNING *", session_id, activity_id
        )
    )


async def cancel(
    conn: Conn, session_id: UUID, *, by: str, reason: str | None, now: datetime
) -> CircleSessionRow:
    return _row(await changes.cancel(conn, "circle_sessions", session_id, by=by, reason=reason, now=now))


async def cancel_upcoming(conn: Conn, circle_id: str, *, by: str, now: datetime) -> list[CircleSessionRow]:
    """Cancels the circle's sessions still to come (it has closed)."""
    rows = await changes.cancel_upcoming(
        conn, "circle_sessions", circle_id, by=by, reason="circle closed", now=now
    )
    return sorted((CircleSessionRow(**r) for r in rows), key=lambda s: (s.starts_at, s.id))


async def mark_held(
    conn: Conn,
    session_id: UUID,
    *,
    held_at: datetime,
    activity_id: tuple[str | None] | None,
    recorded_by: str,
    now: datetime,
    attendance: Mapping[str, bool],
    ideas: Sequence[IdeaData],
    learning: Sequence[LearningData],
) -> CircleSessionRow:
    """Held, with its outcome: attendance (every member at the time, present or not), the ideas and
    the learning record. `activity_id` None keeps the session's, `(value,)` sets it."""
    row = _row(
        await conn.fetchrow(
            """UPDATE circle_sessions SET status = 'held', held_at = $2, recorded_by = $3, updated_at = $4,
                      activity_id = CASE WHEN $5 THEN $6 ELSE activity_id END
               WHERE id = $1 RETURNING *""",
            session_id,
            held_at,
            recorded_by,
            now,
            activity_id is not None,
            activity_id[0] if activity_id is not None else None,
        )
    )
    await conn.execute(
        """INSERT INTO circle_attendance (session_id, participant_id, present)
           SELECT $1, * FROM unnest($2::text[], $3::boolean[])""",
        session_id,
        list(attendance),
        list(attendance.values()),
    )
    await conn.execute(
        """INSERT INTO circle_ideas (session_id, position, participant_id, text)
           SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[])""",
        session_id,
        list(range(len(ideas))),
        [i["participant_id"] for i in ideas],
        [i["text"] for i in ideas],
    )
    await conn.execute(
        """INSERT INTO circle_learning (session_id, position, from_id, to_id, from_generation,
                                        to_generation, topic)
           SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])""",
        session_id,
        list(range(len(learning))),
        [f["from_id"] for f in learning],
        [f["to_id"] for f in learning],
        [f["from_generation"] for f in learning],
        [f["to_generation"] for f in learning],
        [f["topic"] for f in learning],
    )
    return row


async def count_held(conn: Conn, circle_id: str) -> int:
    return await changes.count_held(conn, "circle_sessions", circle_id)


async def learning_generations(conn: Conn, circle_id: str) -> list[dict[str, str]]:
    """The generations of every learning flow of the circle's held sessions (the exchange index's input)."""
    rows = await conn.fetch(
        """SELECT l.from_generation, l.to_generation FROM circle_learning l
             JOIN circle_sessions s ON s.id = l.session_id
            WHERE s.circle_id = $1 AND s.status = 'held'""",
        circle_id,
    )
    return [dict(r) for r in rows]


async def last_held_at(conn: Conn, circle_id: str) -> datetime | None:
    at: datetime | None = await conn.fetchval(
        "SELECT max(held_at) FROM circle_sessions WHERE circle_id = $1 AND status = 'held'", circle_id
    )
    return at
