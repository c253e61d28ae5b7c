"""relationships: the pair as sessions keeps it, from pair.formed to closure."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from uuid import UUID

from bridge_sessions.db import Conn
from bridge_sessions.domain.rows import RelationshipRow, RelationshipView


@dataclass(frozen=True, slots=True)
class NewRelationship:
    id: UUID
    pair_id: str
    cohort_id: str
    mentor_id: str
    mentor_employee_id: str
    mentor_name: str
    mentor_timezone: str
    mentor_email: str
    mentee_id: str
    mentee_employee_id: str
    mentee_name: str
    mentee_timezone: str
    mentee_email: str
    region: str
    mentor_region: str
    mentee_region: str
    planned_end: date | None
    hr_contact_email: str | None
    started_at: datetime


_VIEW = """
SELECT r.*, a.version AS agreement_version,
       coalesce((SELECT array_agg(h.reason ORDER BY h.reason) FROM health_signals h
                  WHERE h.relationship_id = r.id AND h.resolved_at IS NULL
                    AND h.reason NOT IN ('ending_soon', 'midpoint_survey')), '{}') AS open_risks
FROM relationships r
LEFT JOIN agreements a ON a.relationship_id = r.id AND a.status = 'active'
"""


async def get(conn: Conn, relationship_id: UUID, *, for_update: bool = False) -> RelationshipRow | None:
    sql = "SELECT * FROM relationships WHERE id = $1" + (" FOR UPDATE" if for_update else "")
    row = await conn.fetchrow(sql, relationship_id)
    return None if row is None else RelationshipRow(**row)


async def view(conn: Conn, relationship_id: UUID) -> RelationshipView | None:
    row = await conn.fetchrow(_VIEW + "WHERE r.id = $1", relationship_id)
    return None if row is None else RelationshipView(**row)


async def visible(
    conn: Conn,
    *,
    cohort_id: str | None,
    status: str | None,
    everyone: bool,
    regions: list[str],
    employee_id: str | None,
) -> list[RelationshipView]:
    """Those with at least one person in `regions`, those `employee_id` is in, or all when `everyone`;
    filtered in SQL."""
    rows = await conn.fetch(
        _VIEW
        + """WHERE ($1::text IS NULL OR r.cohort_id = $1) AND ($2::text IS NULL OR r.status = $2)
             AND ($3 OR r.mentor_region = ANY($4::text[]) OR r.mentee_region = ANY($4::text[])
                  OR r.mentor_employee_id = $5 OR r.mentee_employee_id = $5)
           ORDER BY r.started_at, r.id""",
        cohort_id,
        status,
        everyone,
        regions,
        employee_id,
    )
    return [RelationshipView(**r) for r in rows]


async def insert_many(conn: Conn, rows: list[NewRelationship]) -> set[str]:
    """New relationships in one statement (pair ids distinct); returns the pair ids inserted now. A
    pair that already has its relationship (pair.formed delivered again) keeps it; a repeated
    pair.formed still fills in a home region the stored relationship does not know yet (rows from
    before migration 0003)."""
    if not rows:
        return set()
    columns = [f.name for f in fields(NewRelationship)]
    inserted = await conn.fetch(
        f"""INSERT INTO relationships ({", ".join(columns)})
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                                 $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                                 $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
                                 $16::text[], $17::date[], $18::text[], $19::timestamptz[])
            ON CONFLICT (pair_id) DO UPDATE
                SET mentor_region = coalesce(relationships.mentor_region, EXCLUDED.mentor_region),
                    mentee_region = coalesce(relationships.mentee_region, EXCLUDED.mentee_region)
              WHERE relationships.mentor_region IS NULL OR relationships.mentee_region IS NULL
            RETURNING pair_id, (xmax = 0) AS inserted""",
        *([getattr(r, c) for r in rows] for c in columns),
    )
    return {r["pair_id"] for r in inserted if r["inserted"]}


async def id_for_pair(conn: Conn, pair_id: str) -> UUID | None:
    rid: UUID | None = await conn.fetchval("SELECT id FROM relationships WHERE pair_id = $1", pair_id)
    return rid


async def activate(conn: Conn, relationship_id: UUID, planned_end: date) -> None:
    await conn.execute(
        "UPDATE relationships SET status = 'active', planned_end = $2 WHERE id = $1",
        relationship_id,
        planned_end,
    )


async def close(
    conn: Conn,
    relationship_id: UUID,
    *,
    now: datetime,
    outcome: str,
    reason: str | None,
    closed_by: str,
    left_participant_id: str | None = None,
) -> RelationshipRow | None:
    """The closed row, or None when it was closed already. `left_participant_id` is kept only when it
    is one of the two (a check constraint says so too)."""
    row = await conn.fetchrow(
        """UPDATE relationships SET status = 'closed', closed_at = $2, outcome = $3, close_reason = $4,
                  closed_by = $5,
                  left_participant_id = CASE WHEN $6::text IN (mentor_id, mentee_id) THEN $6 END
           WHERE id = $1 AND status <> 'closed' RETURNING *""",
        relationship_id,
        now,
        outcome,
        reason,
        closed_by,
        left_participant_id,
    )
    return None if row is None else RelationshipRow(**row)


async def for_participant(conn: Conn, participant_id: str) -> list[RelationshipRow]:
    """Every relationship the participant (enrolment) is in, on either side, locked."""
    rows = await conn.fetch(
        "SELECT * FROM relationships WHERE mentor_id = $1 OR mentee_id = $1 ORDER BY id FOR UPDATE",
        participant_id,
    )
    return [RelationshipRow(**r) for r in rows]


async def update_side(
    conn: Conn,
    relationship_id: UUID,
    side: str,
    *,
    name: str,
    email: str,
    timezone: str,
    region: str,
) -> RelationshipRow:
    """The person's current profile on their side of the relationship (from matching)."""
    assert side in ("mentor", "mentee")
    legacy = ", region = $5" if side == "mentee" else ""  # `region` has always been the mentee's
    row = await conn.fetchrow(
        f"""UPDATE relationships SET {side}_name = $2, {side}_email = $3, {side}_timezone = $4,
                   {side}_region = $5{legacy}
             WHERE id = $1 RETURNING *""",
        relationship_id,
        name,
        email,
        timezone,
        region,
    )
    assert row is not None, "locked by for_participant in this transaction"
    return RelationshipRow(**row)
