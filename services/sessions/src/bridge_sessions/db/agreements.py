"""agreements: versioned; one draft and one active version at most per relationship."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from bridge_sessions.db import Conn
from bridge_sessions.domain.rows import AgreementRow, AgreementTerms, Side


@dataclass(frozen=True, slots=True)
class Draft:
    """A version as drafted: its terms, who drafted it when, and the drafter's confirmation."""

    terms: AgreementTerms
    drafted_by: str
    drafted_at: datetime
    mentor_confirmed_at: datetime | None
    mentee_confirmed_at: datetime | None

    def values(self) -> tuple[object, ...]:
        t = self.terms
        return (
            t.mentor_learning,
            t.mentee_learning,
            t.cadence_days,
            t.meeting_mode,
            t.meeting_place,
            t.rules_of_engagement,
            t.start_date,
            t.end_date,
            self.drafted_by,
            self.drafted_at,
            self.mentor_confirmed_at,
            self.mentee_confirmed_at,
        )


_CONFIRM = {
    "mentor": "UPDATE agreements SET mentor_confirmed_at = $3 WHERE relationship_id = $1 AND version = $2 "
    "RETURNING *",
    "mentee": "UPDATE agreements SET mentee_confirmed_at = $3 WHERE relationship_id = $1 AND version = $2 "
    "RETURNING *",
}


async def all_versions(conn: Conn, relationship_id: UUID) -> list[AgreementRow]:
    rows = await conn.fetch(
        "SELECT * FROM agreements WHERE relationship_id = $1 ORDER BY version", relationship_id
    )
    return [AgreementRow(**r) for r in rows]


async def get(conn: Conn, relationship_id: UUID, version: int) -> AgreementRow | None:
    row = await conn.fetchrow(
        "SELECT * FROM agreements WHERE relationship_id = $1 AND version = $2", relationship_id, version
    )
    return None if row is None else AgreementRow(**row)


async def in_force(conn: Conn, relationship_id: UUID) -> AgreementRow | None:
    """The active version, if any."""
    row = await conn.fetchrow(
        "SELECT * FROM agreements WHERE relationship_id = $1 AND status = 'active'", relationship_id
    )
    return None if row is None else AgreementRow(**row)


async def version_in(conn: Conn, relationship_id: UUID, status: str) -> int | None:
    """The version in `status` ('active' or 'draft'; at most one of each)."""
    version: int | None = await conn.fetchval(
        "SELECT version FROM agreements WHERE relationship_id = $1 AND status = $2", relationship_id, status
    )
    return version


async def replace_draft(conn: Conn, relationship_id: UUID, version: int, draft: Draft) -> AgreementRow:
    row = await conn.fetchrow(
        """UPDATE agreements SET mentor_learning = $3, mentee_learning = $4, cadence_days = $5,
                  meeting_mode = $6, meeting_place = $7, rules_of_engagement = $8, start_date = $9,
                  end_date = $10, drafted_by = $11, drafted_at = $12, mentor_confirmed_at = $13,
                  mentee_confirmed_at = $14
           WHERE relationship_id = $1 AND version = $2 RETURNING *""",
        relationship_id,
        version,
        *draft.values(),
    )
    assert row is not None, "the pending version is locked through its relationship"
    return AgreementRow(**row)


async def insert_draft(conn: Conn, relationship_id: UUID, draft: Draft) -> AgreementRow:
    """The next version, as a draft."""
    row = await conn.fetchrow(
        """INSERT INTO agreements (relationship_id, version, status, mentor_learning,
                  mentee_learning, cadence_days, meeting_mode, meeting_place,
                  rules_of_engagement, start_date, end_date, drafted_by, drafted_at,
                  mentor_confirmed_at, mentee_confirmed_at)
           VALUES ($1, (SELECT coalesce(max(version), 0) + 1 FROM agreements WHERE relationship_id = $1),
                   'draft', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           RETURNING *""",
        relationship_id,
        *draft.values(),
    )
    assert row is not None
    return AgreementRow(**row)


async def confirm(conn: Conn, relationship_id: UUID, version: int, side: Side, now: datetime) -> AgreementRow:
    row = await conn.fetchrow(_CONFIRM[side], relationship_id, version, now)
    assert row is not None, "the version was read in this transaction"
    return AgreementRow(**row)


async def activate(conn: Conn, relationship_id: UUID, version: int, now: datetime) -> None:
    """`version` comes into force; the one in force until now is superseded."""
    await conn.execute(
        "UPDATE agreements SET status = 'superseded' WHERE relationship_id = $1 AND status = 'active'",
        relationship_id,
    )
    await conn.execute(
        "UPDATE agreements SET status = 'active', activated_at = $3 "
        "WHERE relationship_id = $1 AND version = $2",
        relationship_id,
        version,
        now,
    )


async def withdraw_draft(conn: Conn, relationship_id: UUID) -> None:
    await conn.execute(
        "UPDATE agreements SET status = 'withdrawn' WHERE relationship_id = $1 AND status = 'draft'",
        relationship_id,
    )
