"""circle_agreements and circle_agreement_members: versioned, at most one draft and one active
version per circle; per version and member, their personal goal and their confirmation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg

from bridge_sessions.db import Conn
from bridge_sessions.domain.circle_rows import (
    CircleAgreementMemberRow,
    CircleAgreementRow,
    CircleAgreementTerms,
)


async def _rows(conn: Conn, circle_id: str, records: Sequence[asyncpg.Record]) -> list[CircleAgreementRow]:
    parts = await conn.fetch(
        """SELECT version, participant_id, personal_goal, confirmed_at FROM circle_agreement_members
            WHERE circle_id = $1 AND version = ANY($2::int[]) ORDER BY version, participant_id""",
        circle_id,
        [r["version"] for r in records],
    )
    by_version: dict[int, list[CircleAgreementMemberRow]] = defaultdict(list)
    for p in parts:
        by_version[p["version"]].append(
            CircleAgreementMemberRow(p["participant_id"], p["personal_goal"], p["confirmed_at"])
        )
    return [CircleAgreementRow(**r, members=tuple(by_version.get(r["version"], ()))) for r in records]


async def all_versions(conn: Conn, circle_id: str) -> list[CircleAgreementRow]:
    rows = await conn.fetch(
        "SELECT * FROM circle_agreements WHERE circle_id = $1 ORDER BY version", circle_id
    )
    return await _rows(conn, circle_id, rows)


async def get(conn: Conn, circle_id: str, version: int) -> CircleAgreementRow | None:
    row = await conn.fetchrow(
        "SELECT * FROM circle_agreements WHERE circle_id = $1 AND version = $2", circle_id, version
    )
    return None if row is None else (await _rows(conn, circle_id, [row]))[0]


async def version_in(conn: Conn, circle_id: str, status: str) -> int | None:
    """The version in `status` ('active' or 'draft'; at most one of each)."""
    version: int | None = await conn.fetchval(
        "SELECT version FROM circle_agreements WHERE circle_id = $1 AND status = $2", circle_id, status
    )
    return version


async def write_draft(
    conn: Conn,
    circle_id: str,
    terms: CircleAgreementTerms,
    *,
    replace: int | None,
    drafted_by: str,
    drafted_at: datetime,
    members: Sequence[str],
    personal_goals: Mapping[str, str],
) -> CircleAgreementRow:
    """A new draft version (`replace` None) or the pending version `replace` rewritten: its terms,
    one part per current member with the personal goal given for them, confirmations cleared except
    the drafter's (drafting counts as their confirmation)."""
    values = (terms.shared_goals, terms.cadence_days, terms.rules_of_engagement, terms.end_date)
    if replace is None:
        version = await conn.fetchval(
            """INSERT INTO circle_agreements (circle_id, version, status, shared_goals, cadence_days,
                      rules_of_engagement, end_date, drafted_by, drafted_at)
               VALUES ($1, (SELECT coalesce(max(version), 0) + 1 FROM circle_agreements
                             WHERE circle_id = $1), 'draft', $2, $3, $4, $5, $6, $7)
               RETURNING version""",
            circle_id,
            *values,
            drafted_by,
            drafted_at,
        )
    else:
        version = replace
        await conn.execute(
            """UPDATE circle_agreements SET shared_goals = $3, cadence_days = $4, rules_of_engagement = $5,
                      end_date = $6, drafted_by = $7, drafted_at = $8
               WHERE circle_id = $1 AND version = $2""",
            circle_id,
            version,
            *values,
            drafted_by,
            drafted_at,
        )
        await conn.execute(
            "DELETE FROM circle_agreement_members WHERE circle_id = $1 AND version = $2", circle_id, version
        )
    await conn.execute(
        """INSERT INTO circle_agreement_members (circle_id, version, participant_id, personal_goal,
                                                 confirmed_at)
           SELECT $1, $2, p, g, CASE WHEN p = $5 THEN $6::timestamptz END
             FROM unnest($3::text[], $4::text[]) AS t(p, g)""",
        circle_id,
        version,
        list(members),
        [personal_goals.get(p) for p in members],
        drafted_by,
        drafted_at,
    )
    row = await get(conn, circle_id, version)
    assert row is not None, "written in this transaction"
    return row


async def confirm(
    conn: Conn, circle_id: str, version: int, participant_id: str, now: datetime, *, personal_goal: str | None
) -> CircleAgreementRow:
    """The member's confirmation (the first one's time stays) and their personal goal, when they
    give one."""
    await conn.execute(
        """INSERT INTO circle_agreement_members (circle_id, version, participant_id, personal_goal,
                                                 confirmed_at)
           VALUES ($1, $2, $3, $5, $4)
           ON CONFLICT (circle_id, version, participant_id) DO UPDATE
               SET confirmed_at = coalesce(circle_agreement_members.confirmed_at,
                                           EXCLUDED.confirmed_at),
                   personal_goal = coalesce(EXCLUDED.personal_goal,
                                            circle_agreement_members.personal_goal)""",
        circle_id,
        version,
        participant_id,
        now,
        personal_goal,
    )
    row = await get(conn, circle_id, version)
    assert row is not None, "the version was read in this transaction"
    return row


async def activate(conn: Conn, circle_id: str, version: int, now: datetime) -> None:
    """`version` comes into force; the one in force until now is superseded."""
    await conn.execute(
        "UPDATE circle_agreements SET status = 'superseded' WHERE circle_id = $1 AND status = 'active'",
        circle_id,
    )
    await conn.execute(
        "UPDATE circle_agreements SET status = 'active', activated_at = $3 "
        "WHERE circle_id = $1 AND version = $2",
        circle_id,
        version,
        now,
    )


async def withdraw_draft(conn: Conn, circle_id: str) -> None:
    await conn.execute(
        "UPDATE circle_agreements SET status = 'withdrawn' WHERE circle_id = $1 AND status = 'draft'",
        circle_id,
    )
