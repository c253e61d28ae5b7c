"""What an erasure, an export and retention read and change: a person's relationships by participant
id, the rows they wrote, every stored text of those relationships (to redact it), and the expired
rows retention clears. Placeholders come from `bridge_shared.privacy.erased`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from bridge_sessions.db import Conn
from bridge_sessions.domain.rows import RelationshipRow
from bridge_shared.privacy.erased import ERASED_EMAIL, ERASED_ID, ERASED_NAME, ERASED_TEXT


def count(status: str) -> int:
    """Rows affected, from a command status such as 'UPDATE 3' or 'DELETE 1'."""
    return int(status.split()[-1])


async def relationships_of(
    conn: Conn, participant_ids: Sequence[str], *, lock: bool = False
) -> list[RelationshipRow]:
    """Every relationship either of whose people is one of `participant_ids` (locked, in id order,
    for an erasure)."""
    rows = await conn.fetch(
        "SELECT * FROM relationships WHERE mentor_id = ANY($1::text[]) OR mentee_id = ANY($1::text[]) "
        "ORDER BY id" + (" FOR UPDATE" if lock else ""),
        list(participant_ids),
    )
    return [RelationshipRow(**r) for r in rows]


# -- erasure: the person's own rows -------------------------------------------------------------


async def anonymise_people(conn: Conn, relationship_ids: list[UUID], participant_ids: Sequence[str]) -> int:
    """The person's name, e-mail and employee id on their side of each relationship -> placeholders
    (participant id, time zone and region stay: pseudonymous, for counts)."""
    status = await conn.execute(
        """UPDATE relationships SET
               mentor_name = CASE WHEN mentor_id = ANY($2::text[]) THEN $3 ELSE mentor_name END,
               mentor_email = CASE WHEN mentor_id = ANY($2::text[]) THEN $4 ELSE mentor_email END,
               mentor_employee_id = CASE WHEN mentor_id = ANY($2::text[]) THEN $5 ELSE mentor_employee_id END,
               mentee_name = CASE WHEN mentee_id = ANY($2::text[]) THEN $3 ELSE mentee_name END,
               mentee_email = CASE WHEN mentee_id = ANY($2::text[]) THEN $4 ELSE mentee_email END,
               mentee_employee_id = CASE WHEN mentee_id = ANY($2::text[]) THEN $5 ELSE mentee_employee_id END
           WHERE id = ANY($1::uuid[])
             AND ((mentor_id = ANY($2::text[]) AND mentor_employee_id <> $5)
               OR (mentee_id = ANY($2::text[]) AND mentee_employee_id <> $5))""",
        relationship_ids,
        list(participant_ids),
        ERASED_NAME,
        ERASED_EMAIL,
        ERASED_ID,
    )
    return count(status)


async def delete_private_notes(conn: Conn, relationship_ids: list[UUID], author_ids: Sequence[str]) -> int:
    status = await conn.execute(
        """DELETE FROM session_private_notes
           WHERE author_id = ANY($2::text[])
             AND session_id IN (SELECT id FROM sessions WHERE relationship_id = ANY($1::uuid[]))""",
        relationship_ids,
        list(author_ids),
    )
    return count(status)


async def delete_shared_notes(conn: Conn, relationship_ids: list[UUID], author_ids: Sequence[str]) -> int:
    """The shared notes they wrote (last writer: `shared_notes_by`)."""
    status = await conn.execute(
        """UPDATE sessions SET shared_notes = NULL, shared_notes_by = NULL
           WHERE relationship_id = ANY($1::uuid[]) AND shared_notes_by = ANY($2::text[])""",
        relationship_ids,
        list(author_ids),
    )
    return count(status)


async def clear_feedback_text(
    conn: Conn, relationship_ids: list[UUID], participant_ids: Sequence[str]
) -> int:
    """The free text of feedback they gave; ratings and scores stay (aggregates)."""
    status = await conn.execute(
        """UPDATE feedback SET comment = NULL, learned = NULL, taught = NULL
           WHERE relationship_id = ANY($1::uuid[]) AND by_participant_id = ANY($2::text[])
             AND (comment IS NOT NULL OR learned IS NOT NULL OR taught IS NOT NULL)""",
        relationship_ids,
        list(participant_ids),
    )
    return count(status)


async def erase_goals(conn: Conn, relationship_ids: list[UUID], participant_ids: Sequence[str]) -> int:
    """Their goals: title -> ERASED_TEXT, their other words (description, measure, notes) removed;
    status, dates and check-in ratings stay."""
    await conn.execute(
        """UPDATE goal_checkins SET note = NULL
           WHERE note IS NOT NULL AND goal_id IN (
               SELECT id FROM goals
                WHERE relationship_id = ANY($1::uuid[]) AND owner_participant_id = ANY($2::text[]))""",
        relationship_ids,
        list(participant_ids),
    )
    status = await conn.execute(
        """UPDATE goals SET title = $3, description = NULL, success_measure = NULL, close_note = NULL
           WHERE relationship_id = ANY($1::uuid[]) AND owner_participant_id = ANY($2::text[])
             AND (title <> $3 OR description IS NOT NULL OR success_measure IS NOT NULL
                  OR close_note IS NOT NULL)""",
        relationship_ids,
        list(participant_ids),
        ERASED_TEXT,
    )
    return count(status)


_ACTORS = (
    ("relationships", "id", ("closed_by",)),
    ("agreements", "relationship_id", ("drafted_by",)),
    ("sessions", "relationship_id", ("scheduled_by", "cancelled_by", "recorded_by", "shared_notes_by")),
)


async def replace_actor_ids(conn: Conn, relationship_ids: list[UUID], employee_ids: Sequence[str]) -> int:
    """Columns naming who did something (an employee id) -> ERASED_ID where it is theirs."""
    total = 0
    for table, rel_column, columns in _ACTORS:
        sets = ", ".join(f"{c} = CASE WHEN {c} = ANY($2::text[]) THEN $3 ELSE {c} END" for c in columns)
        hit = " OR ".join(f"{c} = ANY($2::text[])" for c in columns)
        status = await conn.execute(
            f"UPDATE {table} SET {sets} WHERE {rel_column} = ANY($1::uuid[]) AND ({hit})",
            relationship_ids,
            list(employee_ids),
            ERASED_ID,
        )
        total += count(status)
    return total


async def delete_published_outbox(conn: Conn, keys: Sequence[str]) -> int:
    """Outbox rows of these relationships that are already on Kafka (or discarded): a record written
    before personal fields were sealed holds them in plain text. Pending rows stay (they must still
    be published)."""
    status = await conn.execute(
        """DELETE FROM outbox WHERE partition_key = ANY($1::text[])
             AND (published_at IS NOT NULL OR discarded_at IS NOT NULL)""",
        list(keys),
    )
    return count(status)


# -- erasure: every stored text of the relationships, for redaction ----------------------------


@dataclass(frozen=True, slots=True)
class TextTable:
    """A table holding text about a relationship (or a circle: db/circle_privacy.py): its key, its
    text and jsonb columns, and which of its rows belong to the relationships (circles) `$1`."""

    name: str
    key: tuple[str, ...]
    text: tuple[str, ...]
    json: tuple[str, ...]
    rows_of: str


TEXT_TABLES: tuple[TextTable, ...] = (
    TextTable("relationships", ("id",), ("close_reason",), (), "id = ANY($1::uuid[])"),
    TextTable(
        "agreements",
        ("relationship_id", "version"),
        ("meeting_place",),
        ("mentor_learning", "mentee_learning", "rules_of_engagement"),
        "relationship_id = ANY($1::uuid[])",
    ),
    TextTable(
        "sessions",
        ("id",),
        ("location", "cancel_reason", "shared_notes"),
        ("topics", "action_items"),
        "relationship_id = ANY($1::uuid[])",
    ),
    TextTable(
        "session_private_notes",
        ("session_id", "author_id"),
        ("body",),
        (),
        "session_id IN (SELECT id FROM sessions WHERE relationship_id = ANY($1::uuid[]))",
    ),
    TextTable(
        "goals",
        ("id",),
        ("title", "description", "success_measure", "close_note"),
        (),
        "relationship_id = ANY($1::uuid[])",
    ),
    TextTable(
        "goal_checkins",
        ("id",),
        ("note",),
        (),
        "goal_id IN (SELECT id FROM goals WHERE relationship_id = ANY($1::uuid[]))",
    ),
    TextTable("feedback", ("id",), ("comment", "learned", "taught"), (), "relationship_id = ANY($1::uuid[])"),
    TextTable("health_signals", ("id",), ("detail",), (), "relationship_id = ANY($1::uuid[])"),
)


@dataclass(frozen=True, slots=True)
class TextRow:
    table: TextTable
    key: tuple[Any, ...]
    values: dict[str, Any]
    """Column -> value: str (text columns) or the decoded jsonb value."""


async def texts(conn: Conn, table: TextTable, owner_ids: Sequence[UUID] | Sequence[str]) -> list[TextRow]:
    """The rows of `table` that belong to the relationships (or, for circle tables, the circles)
    `owner_ids`."""
    columns = ", ".join((*table.key, *table.text, *table.json))
    rows = await conn.fetch(f"SELECT {columns} FROM {table.name} WHERE {table.rows_of}", list(owner_ids))
    return [
        TextRow(
            table,
            tuple(r[k] for k in table.key),
            {c: r[c] for c in (*table.text, *table.json) if r[c] is not None},
        )
        for r in rows
    ]


async def update_texts(conn: Conn, row: TextRow, values: dict[str, Any]) -> None:
    """Writes `values` (a subset of the row's text/jsonb columns) to the row."""
    if not values:
        return
    columns = list(values)
    n = len(row.table.key)
    sets = ", ".join(f"{c} = ${n + i + 1}" for i, c in enumerate(columns))
    where = " AND ".join(f"{k} = ${i + 1}" for i, k in enumerate(row.table.key))
    await conn.execute(f"UPDATE {row.table.name} SET {sets} WHERE {where}", *row.key, *values.values())


# -- export --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrivateNoteRow:
    relationship_id: UUID
    session_id: UUID
    body: str
    updated_at: datetime


async def private_notes_by(
    conn: Conn, relationship_ids: list[UUID], author_ids: Sequence[str]
) -> list[PrivateNoteRow]:
    """The private notes these authors (employee ids) wrote on the relationships' sessions."""
    rows = await conn.fetch(
        """SELECT s.relationship_id, n.session_id, n.body, n.updated_at
             FROM session_private_notes n JOIN sessions s ON s.id = n.session_id
            WHERE s.relationship_id = ANY($1::uuid[]) AND n.author_id = ANY($2::text[])
            ORDER BY s.starts_at, n.session_id""",
        relationship_ids,
        list(author_ids),
    )
    return [PrivateNoteRow(**r) for r in rows]


# -- retention -----------------------------------------------------------------------------------


async def expire_private_notes(conn: Conn, closed_before: datetime, limit: int) -> int:
    """Deletes up to `limit` private notes of relationships closed before `closed_before`."""
    status = await conn.execute(
        """DELETE FROM session_private_notes WHERE (session_id, author_id) IN (
               SELECT n.session_id, n.author_id FROM session_private_notes n
                 JOIN sessions s ON s.id = n.session_id
                 JOIN relationships r ON r.id = s.relationship_id
                WHERE r.status = 'closed' AND r.closed_at < $1
                LIMIT $2)""",
        closed_before,
        limit,
    )
    return count(status)


async def expire_shared_notes(conn: Conn, closed_before: datetime, limit: int) -> int:
    """Clears the shared notes and action items of up to `limit` sessions of relationships closed
    before `closed_before`."""
    status = await conn.execute(
        """UPDATE sessions SET shared_notes = NULL, shared_notes_by = NULL, action_items = '[]'::jsonb
           WHERE id IN (
               SELECT s.id FROM sessions s JOIN relationships r ON r.id = s.relationship_id
                WHERE r.status = 'closed' AND r.closed_at < $1
                  AND (s.shared_notes IS NOT NULL OR s.action_items <> '[]'::jsonb)
                LIMIT $2)""",
        closed_before,
        limit,
    )
    return count(status)


async def expire_feedback_text(conn: Conn, submitted_before: datetime, limit: int) -> int:
    """Clears the free text of up to `limit` feedback entries submitted before `submitted_before`
    (ratings and scores stay)."""
    status = await conn.execute(
        """UPDATE feedback SET comment = NULL, learned = NULL, taught = NULL
           WHERE id IN (
               SELECT id FROM feedback
                WHERE submitted_at < $1
                  AND (comment IS NOT NULL OR learned IS NOT NULL OR taught IS NOT NULL)
                LIMIT $2)""",
        submitted_before,
        limit,
    )
    return count(status)


async def closed_to_anonymise(conn: Conn, closed_before: datetime, limit: int) -> list[RelationshipRow]:
    """Up to `limit` relationships closed before `closed_before` and not yet anonymised (locked;
    rows another instance holds are skipped)."""
    rows = await conn.fetch(
        """SELECT * FROM relationships
            WHERE status = 'closed' AND closed_at < $1 AND anonymised_at IS NULL
            ORDER BY closed_at, id LIMIT $2 FOR UPDATE SKIP LOCKED""",
        closed_before,
        limit,
    )
    return [RelationshipRow(**r) for r in rows]


async def mark_anonymised(conn: Conn, relationship_id: UUID, now: datetime) -> None:
    await conn.execute("UPDATE relationships SET anonymised_at = $2 WHERE id = $1", relationship_id, now)
