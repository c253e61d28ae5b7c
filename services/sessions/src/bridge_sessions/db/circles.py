"""circles and circle_members: a circle as sessions keeps it, from circle.formed to its end."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

import asyncpg

from bridge_sessions.db import Conn
from bridge_sessions.domain.circle_rows import CircleMemberRow, CircleRecord, CircleRow, CircleView


@dataclass(frozen=True, slots=True)
class NewMember:
    participant_id: str
    position: int
    employee_id: str
    display_name: str
    email: str
    region: str
    generation: str
    timezone: str
    locale: str


@dataclass(frozen=True, slots=True)
class NewCircle:
    id: str
    cohort_id: str
    facilitator_id: str
    language: str
    weekly_slot: dict[str, Any] | None
    planned_end: date | None
    hr_contact_email: str | None
    started_at: datetime
    members: tuple[NewMember, ...]


_RECORD = [f.name for f in fields(CircleRecord)]
_VIEW = """
SELECT c.*, a.version AS agreement_version,
       coalesce((SELECT array_agg(h.reason ORDER BY h.reason) FROM circle_health_signals h
                  WHERE h.circle_id = c.id AND h.resolved_at IS NULL), '{}') AS open_risks
FROM circles c
LEFT JOIN circle_agreements a ON a.circle_id = c.id AND a.status = 'active'
"""


async def _members(conn: Conn, circle_ids: Sequence[str]) -> dict[str, tuple[CircleMemberRow, ...]]:
    rows = await conn.fetch(
        "SELECT * FROM circle_members WHERE circle_id = ANY($1::text[]) ORDER BY circle_id, position",
        list(circle_ids),
    )
    out: dict[str, list[CircleMemberRow]] = defaultdict(list)
    for r in rows:
        out[r["circle_id"]].append(CircleMemberRow(**r))
    return {k: tuple(v) for k, v in out.items()}


async def _rows(conn: Conn, records: Sequence[asyncpg.Record]) -> list[CircleRow]:
    members = await _members(conn, [r["id"] for r in records])
    return [CircleRow(**{k: r[k] for k in _RECORD}, members=members.get(r["id"], ())) for r in records]


async def get(conn: Conn, circle_id: str, *, for_update: bool = False) -> CircleRow | None:
    row = await conn.fetchrow(
        "SELECT * FROM circles WHERE id = $1" + (" FOR UPDATE" if for_update else ""), circle_id
    )
    return None if row is None else (await _rows(conn, [row]))[0]


async def view(conn: Conn, circle_id: str) -> CircleView | None:
    found = await _views(conn, await conn.fetch(_VIEW + "WHERE c.id = $1", circle_id))
    return found[0] if found else None


async def _views(conn: Conn, records: Sequence[asyncpg.Record]) -> list[CircleView]:
    members = await _members(conn, [r["id"] for r in records])
    return [
        CircleView(
            **{k: r[k] for k in _RECORD},
            members=members.get(r["id"], ()),
            agreement_version=r["agreement_version"],
            open_risks=list(r["open_risks"]),
        )
        for r in records
    ]


async def visible(
    conn: Conn,
    *,
    cohort_id: str | None,
    status: str | None,
    everyone: bool,
    regions: list[str],
    employee_id: str | None,
) -> list[CircleView]:
    """Those with at least one current member in `regions`, those `employee_id` is a member of, or
    all when `everyone`; filtered in SQL."""
    rows = await conn.fetch(
        _VIEW
        + """WHERE ($1::text IS NULL OR c.cohort_id = $1) AND ($2::text IS NULL OR c.status = $2)
             AND ($3 OR EXISTS (SELECT 1 FROM circle_members m
                                 WHERE m.circle_id = c.id AND m.erased_at IS NULL
                                   AND (m.region = ANY($4::text[]) OR m.employee_id = $5)))
           ORDER BY c.started_at, c.id""",
        cohort_id,
        status,
        everyone,
        regions,
        employee_id,
    )
    return await _views(conn, rows)


async def insert(conn: Conn, new: NewCircle) -> bool:
    """The circle and its members; False when it exists already (circle.formed delivered again)."""
    inserted = await conn.fetchval(
        """INSERT INTO circles (id, cohort_id, facilitator_id, language, weekly_slot, planned_end,
                                hr_contact_email, started_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING RETURNING id""",
        new.id,
        new.cohort_id,
        new.facilitator_id,
        new.language,
        new.weekly_slot,
        new.planned_end,
        new.hr_contact_email,
        new.started_at,
    )
    if inserted is None:
        return False
    columns = [f.name for f in fields(NewMember)]
    await conn.execute(
        f"""INSERT INTO circle_members (circle_id, {", ".join(columns)})
            SELECT $1, * FROM unnest($2::text[], $3::int[], $4::text[], $5::text[], $6::text[],
                                     $7::text[], $8::text[], $9::text[], $10::text[])""",
        new.id,
        *([getattr(m, c) for m in new.members] for c in columns),
    )
    return True


async def activate(conn: Conn, circle_id: str, planned_end: date) -> None:
    await conn.execute(
        "UPDATE circles SET status = 'active', planned_end = $2 WHERE id = $1 AND status <> 'closed'",
        circle_id,
        planned_end,
    )


async def close(
    conn: Conn, circle_id: str, *, now: datetime, outcome: str, reason: str | None, closed_by: str
) -> bool:
    """False when it was closed already."""
    done = await conn.fetchval(
        """UPDATE circles SET status = 'closed', closed_at = $2, outcome = $3, close_reason = $4,
                  closed_by = $5
           WHERE id = $1 AND status <> 'closed' RETURNING id""",
        circle_id,
        now,
        outcome,
        reason,
        closed_by,
    )
    return done is not None


async def of_participants(
    conn: Conn, participant_ids: Sequence[str], *, lock: bool = False
) -> list[CircleRow]:
    """Every circle one of `participant_ids` is (or was) a member of, in id order (locked, for an
    erasure)."""
    rows = await conn.fetch(
        """SELECT * FROM circles WHERE id IN (
               SELECT circle_id FROM circle_members WHERE participant_id = ANY($1::text[]))
           ORDER BY id"""
        + (" FOR UPDATE" if lock else ""),
        list(participant_ids),
    )
    return await _rows(conn, rows)
