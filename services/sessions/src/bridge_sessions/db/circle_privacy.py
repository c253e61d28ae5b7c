"""What an erasure, an export and retention read and change in circles: the member rows of the
person, the words they own (their ideas, the learning they were part of, their personal goals), every
stored text of their circles (to redact it), and the long-closed circles retention anonymises.
Placeholders come from `bridge_shared.privacy.erased`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bridge_sessions.db import Conn
from bridge_sessions.db import circles as circles_db
from bridge_sessions.db.privacy import TextTable, count
from bridge_sessions.domain.circle_rows import CircleRow
from bridge_shared.privacy.erased import ERASED_EMAIL, ERASED_ID, ERASED_NAME, ERASED_TEXT

_SESSIONS_OF = "session_id IN (SELECT id FROM circle_sessions WHERE circle_id = ANY($1::text[]))"

TEXT_TABLES: tuple[TextTable, ...] = (
    TextTable("circles", ("id",), ("close_reason",), (), "id = ANY($1::text[])"),
    TextTable(
        "circle_agreements",
        ("circle_id", "version"),
        ("rules_of_engagement",),
        ("shared_goals",),
        "circle_id = ANY($1::text[])",
    ),
    TextTable(
        "circle_agreement_members",
        ("circle_id", "version", "participant_id"),
        ("personal_goal",),
        (),
        "circle_id = ANY($1::text[])",
    ),
    TextTable("circle_sessions", ("id",), ("location", "cancel_reason"), (), "circle_id = ANY($1::text[])"),
    TextTable("circle_ideas", ("id",), ("text",), (), _SESSIONS_OF),
    TextTable("circle_learning", ("id",), ("topic",), (), _SESSIONS_OF),
    TextTable("circle_health_signals", ("id",), ("detail",), (), "circle_id = ANY($1::text[])"),
)
"""Every text a circle stores about its people; an erasure redacts the person's identifiers in all."""


async def erase_ideas(conn: Conn, circle_ids: list[str], participant_ids: Sequence[str]) -> int:
    """The ideas they brought: their own words -> ERASED_TEXT (who brought one stays, pseudonymous)."""
    status = await conn.execute(
        f"""UPDATE circle_ideas SET text = $3
            WHERE {_SESSIONS_OF} AND participant_id = ANY($2::text[]) AND text <> $3""",
        circle_ids,
        list(participant_ids),
        ERASED_TEXT,
    )
    return count(status)


async def erase_learning(conn: Conn, circle_ids: list[str], participant_ids: Sequence[str]) -> int:
    """Topics they taught or learnt -> ERASED_TEXT (the flow and its generations stay: the figures)."""
    status = await conn.execute(
        f"""UPDATE circle_learning SET topic = $3
            WHERE {_SESSIONS_OF} AND (from_id = ANY($2::text[]) OR to_id = ANY($2::text[]))
              AND topic <> $3""",
        circle_ids,
        list(participant_ids),
        ERASED_TEXT,
    )
    return count(status)


async def erase_personal_goals(conn: Conn, circle_ids: list[str], participant_ids: Sequence[str]) -> int:
    status = await conn.execute(
        """UPDATE circle_agreement_members SET personal_goal = NULL
           WHERE circle_id = ANY($1::text[]) AND participant_id = ANY($2::text[])
             AND personal_goal IS NOT NULL""",
        circle_ids,
        list(participant_ids),
    )
    return count(status)


async def anonymise_members(
    conn: Conn, circle_ids: list[str], participant_ids: Sequence[str], now: datetime
) -> int:
    """Their name, e-mail and employee id on their member rows -> placeholders, and no longer a
    member (participant id, zone, region and generation stay: pseudonymous, for the figures)."""
    status = await conn.execute(
        """UPDATE circle_members SET display_name = $3, email = $4, employee_id = $5,
                  erased_at = coalesce(erased_at, $6)
           WHERE circle_id = ANY($1::text[]) AND participant_id = ANY($2::text[]) AND employee_id <> $5""",
        circle_ids,
        list(participant_ids),
        ERASED_NAME,
        ERASED_EMAIL,
        ERASED_ID,
        now,
    )
    return count(status)


async def closed_to_anonymise(conn: Conn, closed_before: datetime, limit: int) -> list[CircleRow]:
    """Up to `limit` circles closed before `closed_before` and not yet anonymised (locked; rows another
    instance holds are skipped)."""
    ids = await conn.fetch(
        """SELECT id FROM circles
            WHERE status = 'closed' AND closed_at < $1 AND anonymised_at IS NULL
            ORDER BY closed_at, id LIMIT $2 FOR UPDATE SKIP LOCKED""",
        closed_before,
        limit,
    )
    found = [await circles_db.get(conn, r["id"]) for r in ids]
    return [c for c in found if c is not None]


async def mark_anonymised(conn: Conn, circle_id: str, now: datetime) -> None:
    await conn.execute("UPDATE circles SET anonymised_at = $2 WHERE id = $1", circle_id, now)
