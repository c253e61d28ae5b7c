"""Mentoring circles (migration 0011): circle runs (drafts under review), circles and their members.

Capacity is the database's: a participant is in at most one live circle (an invited or accepted
member row; the unique index `circle_members_one_live`). Every write that changes who is in a live
circle takes the cohort's circle lock first (`lock_cohort`), so two refills never pick the same person
and a publish never races a refill.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bridge_matching.db.privacy import TextTable
from bridge_matching.db.records import Conn, as_rows, for_update, maybe_row, one_row
from bridge_matching.domain.rows import (
    CircleMemberRow,
    CircleRow,
    CircleRunRow,
    CircleStatus,
    LeftOutData,
    MemberOrigin,
    MemberStatus,
    NewCircle,
    SlotData,
)
from bridge_shared.db.locks import advisory_key

# Texts of these tables may name people: an erasure scrubs them as it scrubs pairs' (app/privacy.py).
TEXT_TABLES = (
    TextTable(
        "circle_runs",
        (),
        ("stats", "left_out"),
        ("created_by", "published_by"),
        "cohort_id = ANY($1::uuid[])",
    ),
    TextTable(
        "circle_members",
        ("decline_reason",),
        (),
        (),
        "circle_id IN (SELECT id FROM circles WHERE cohort_id = ANY($1::uuid[]))",
    ),
    TextTable(
        "circles",
        ("explanation", "dissolved_reason"),
        ("breakdown",),
        ("dissolved_by",),
        "cohort_id = ANY($1::uuid[])",
    ),
)


async def lock_cohort(conn: Conn, cohort_id: uuid.UUID) -> None:
    """Serialises the writes that change who is in a live circle of the cohort, until the transaction
    ends (taken after any cohort or participant row lock the caller holds, before circle rows)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", advisory_key("circles", str(cohort_id)))


# -- runs ---------------------------------------------------------------------------------------------


async def insert_run(
    conn: Conn,
    cohort_id: uuid.UUID,
    created_by: str,
    stats: dict[str, Any],  # Any: the statistics document
    left_out: list[LeftOutData],
    now: datetime,
) -> CircleRunRow:
    return one_row(
        CircleRunRow,
        await conn.fetchrow(
            """INSERT INTO circle_runs (id, cohort_id, status, stats, left_out, created_by, created_at,
                                        updated_at)
               VALUES ($1, $2, 'draft', $3, $4, $5, $6, $6) RETURNING *""",
            uuid.uuid4(),
            cohort_id,
            stats,
            left_out,
            created_by,
            now,
        ),
    )


async def get_run(conn: Conn, run_id: uuid.UUID, *, lock: bool = False) -> CircleRunRow | None:
    return maybe_row(
        CircleRunRow,
        await conn.fetchrow(f"SELECT * FROM circle_runs WHERE id = $1{for_update(lock)}", run_id),
    )


async def list_runs(conn: Conn, cohort_id: uuid.UUID) -> list[CircleRunRow]:
    return as_rows(
        CircleRunRow,
        await conn.fetch("SELECT * FROM circle_runs WHERE cohort_id = $1 ORDER BY created_at, id", cohort_id),
    )


async def lock_drafts(conn: Conn, cohort_id: uuid.UUID) -> None:
    """Locks the cohort's draft run (lock order, as for matching runs: run rows first, then the cohort)."""
    await conn.execute(
        "SELECT id FROM circle_runs WHERE cohort_id = $1 AND status = 'draft' FOR UPDATE", cohort_id
    )


async def supersede_drafts(conn: Conn, cohort_id: uuid.UUID, now: datetime) -> None:
    """The cohort's open draft (at most one) is superseded; its draft circles go (a draft circle is
    only ever read through its run)."""
    await conn.execute(
        """DELETE FROM circles WHERE status = 'draft'
              AND run_id IN (SELECT id FROM circle_runs WHERE cohort_id = $1 AND status = 'draft')""",
        cohort_id,
    )
    await conn.execute(
        """UPDATE circle_runs SET status = 'superseded', updated_at = $2
            WHERE cohort_id = $1 AND status = 'draft'""",
        cohort_id,
        now,
    )


async def update_run(
    conn: Conn,
    run_id: uuid.UUID,
    now: datetime,
    *,
    left_out: list[LeftOutData] | None = None,
    removed: Sequence[uuid.UUID] | None = None,
    stats: dict[str, Any] | None = None,  # Any: the statistics document
) -> CircleRunRow:
    """A review edit or re-solve of the draft: the given parts change and `version` grows."""
    return one_row(
        CircleRunRow,
        await conn.fetchrow(
            """UPDATE circle_runs SET version = version + 1, updated_at = $2,
                      left_out = coalesce($3, left_out), removed = coalesce($4::uuid[], removed),
                      stats = coalesce($5, stats)
                WHERE id = $1 RETURNING *""",
            run_id,
            now,
            left_out,
            None if removed is None else list(removed),
            stats,
        ),
    )


async def mark_published(conn: Conn, run_id: uuid.UUID, by: str, now: datetime) -> None:
    await conn.execute(
        """UPDATE circle_runs SET status = 'published', published_at = $3, published_by = $2, updated_at = $3,
                  version = version + 1
            WHERE id = $1""",
        run_id,
        by,
        now,
    )


# -- circles ------------------------------------------------------------------------------------------


async def insert_circles(
    conn: Conn,
    cohort_id: uuid.UUID,
    run_id: uuid.UUID | None,
    circles: Sequence[NewCircle],
    now: datetime,
) -> list[CircleRow]:
    """Draft circles with their (draft) members, in the order given."""
    out = []
    for c in circles:
        row = one_row(
            CircleRow,
            await conn.fetchrow(
                """INSERT INTO circles (id, cohort_id, run_id, status, facilitator_id, facilitator_by_hr,
                                        language, weekly_slot, score, breakdown, explanation, violations,
                                        pinned, origin, created_at, updated_at)
                   VALUES ($1, $2, $3, 'draft', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
                   RETURNING *""",
                uuid.uuid4(),
                cohort_id,
                run_id,
                c.facilitator_id,
                c.facilitator_by_hr,
                c.language,
                c.weekly_slot,
                c.score,
                c.breakdown,
                c.explanation,
                list(c.violations),
                c.pinned,
                c.origin,
                now,
            ),
        )
        await _insert_members(conn, row.id, c, "draft", now)
        out.append(row)
    return out


async def _insert_members(
    conn: Conn, circle_id: uuid.UUID, c: NewCircle, status: MemberStatus, now: datetime
) -> None:
    await conn.execute(
        """INSERT INTO circle_members (circle_id, participant_id, status, origin)
           SELECT $1, p, $2, o FROM unnest($3::uuid[], $4::text[]) AS t(p, o)""",
        circle_id,
        status,
        list(c.member_ids),
        [c.member_origins.get(m, "engine") for m in c.member_ids],
    )


async def replace_draft(conn: Conn, circle_id: uuid.UUID, c: NewCircle, now: datetime) -> CircleRow:
    """A draft circle as HR's review edit left it: its fields and its members."""
    row = one_row(
        CircleRow,
        await conn.fetchrow(
            """UPDATE circles SET facilitator_id = $2, facilitator_by_hr = $3, language = $4,
                      weekly_slot = $5, score = $6, breakdown = $7, explanation = $8, violations = $9,
                      pinned = $10, origin = $11, updated_at = $12
                WHERE id = $1 AND status = 'draft' RETURNING *""",
            circle_id,
            c.facilitator_id,
            c.facilitator_by_hr,
            c.language,
            c.weekly_slot,
            c.score,
            c.breakdown,
            c.explanation,
            list(c.violations),
            c.pinned,
            c.origin,
            now,
        ),
    )
    await conn.execute("DELETE FROM circle_members WHERE circle_id = $1", circle_id)
    await _insert_members(conn, circle_id, c, "draft", now)
    return row


async def delete_drafts(conn: Conn, circle_ids: Sequence[uuid.UUID]) -> None:
    await conn.execute(
        "DELETE FROM circles WHERE id = ANY($1::uuid[]) AND status = 'draft'", list(circle_ids)
    )


async def get(conn: Conn, circle_id: uuid.UUID, *, lock: bool = False) -> CircleRow | None:
    return maybe_row(
        CircleRow, await conn.fetchrow(f"SELECT * FROM circles WHERE id = $1{for_update(lock)}", circle_id)
    )


async def of_run(conn: Conn, run_id: uuid.UUID, *, lock: bool = False) -> list[CircleRow]:
    return as_rows(
        CircleRow,
        await conn.fetch(
            f"SELECT * FROM circles WHERE run_id = $1 ORDER BY created_at, id{for_update(lock)}", run_id
        ),
    )


async def list_for_cohort(
    conn: Conn,
    cohort_id: uuid.UUID,
    status: CircleStatus | None,
    *,
    member: uuid.UUID | None = None,
    regions: Sequence[str] | None = None,
) -> list[CircleRow]:
    """The cohort's published circles (never drafts); with `member`, those the participant is or was
    invited to; with `regions`, those with at least one member from those regions."""
    return as_rows(
        CircleRow,
        await conn.fetch(
            """SELECT * FROM circles c WHERE cohort_id = $1 AND status <> 'draft'
                 AND ($2::text IS NULL OR status = $2)
                 AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM circle_members m
                       WHERE m.circle_id = c.id AND m.participant_id = $3))
                 AND ($4::text[] IS NULL OR EXISTS (SELECT 1 FROM circle_members m JOIN participants p
                       ON p.id = m.participant_id WHERE m.circle_id = c.id AND p.region = ANY($4)))
             ORDER BY created_at, id""",
            cohort_id,
            status,
            member,
            None if regions is None else list(regions),
        ),
    )


async def members(conn: Conn, circle_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[CircleMemberRow]]:
    """Each circle's member rows (every status), in a stable order."""
    rows = as_rows(
        CircleMemberRow,
        await conn.fetch(
            """SELECT m.* FROM circle_members m JOIN participants p ON p.id = m.participant_id
                WHERE m.circle_id = ANY($1::uuid[]) ORDER BY p.employee_id, m.participant_id""",
            list(circle_ids),
        ),
    )
    out: dict[uuid.UUID, list[CircleMemberRow]] = {c: [] for c in circle_ids}
    for r in rows:
        out[r.circle_id].append(r)
    return out


async def live_member_ids(conn: Conn, cohort_id: uuid.UUID) -> set[uuid.UUID]:
    """Participants of the cohort in a live circle (invited or accepted): they are not free."""
    rows = await conn.fetch(
        """SELECT m.participant_id FROM circle_members m JOIN circles c ON c.id = m.circle_id
            WHERE c.cohort_id = $1 AND m.status IN ('invited', 'accepted')""",
        cohort_id,
    )
    return {r["participant_id"] for r in rows}


async def said_no(conn: Conn, cohort_id: uuid.UUID) -> set[uuid.UUID]:
    """Participants of the cohort who declined a circle or let an invitation expire: a refill does not
    invite them again (HR's next run may)."""
    rows = await conn.fetch(
        """SELECT DISTINCT m.participant_id FROM circle_members m JOIN circles c ON c.id = m.circle_id
            WHERE c.cohort_id = $1 AND m.status IN ('declined', 'expired')""",
        cohort_id,
    )
    return {r["participant_id"] for r in rows}


async def publish_drafts(
    conn: Conn, run_id: uuid.UUID, ttl_hours: int, expires_at: datetime, now: datetime
) -> list[CircleRow]:
    """The run's draft circles become proposed and their members invited (the unique index refuses
    anyone already in a live circle: the caller checked)."""
    circles = as_rows(
        CircleRow,
        await conn.fetch(
            """UPDATE circles SET status = 'proposed', proposed_at = $2, expires_at = $3,
                      invite_ttl_hours = $4, updated_at = $2
                WHERE run_id = $1 AND status = 'draft' RETURNING *""",
            run_id,
            now,
            expires_at,
            ttl_hours,
        ),
    )
    await conn.execute(
        "UPDATE circle_members SET status = 'invited', invited_at = $2 WHERE circle_id = ANY($1::uuid[])",
        [c.id for c in circles],
        now,
    )
    return sorted(circles, key=lambda c: (c.created_at, c.id))


async def set_member(
    conn: Conn,
    circle_id: uuid.UUID,
    participant_id: uuid.UUID,
    status: MemberStatus,
    now: datetime,
    *,
    reason: str | None = None,
) -> CircleMemberRow:
    """A member's answer (accepted, declined with `reason`, expired) or end (left)."""
    answered = status in ("accepted", "declined", "expired")
    return one_row(
        CircleMemberRow,
        await conn.fetchrow(
            """UPDATE circle_members SET status = $3,
                      responded_at = CASE WHEN $4 THEN $5 ELSE responded_at END,
                      decline_reason = CASE WHEN $3 = 'declined' THEN $6 ELSE decline_reason END,
                      left_at = CASE WHEN $3 = 'left' THEN $5 ELSE left_at END
                WHERE circle_id = $1 AND participant_id = $2 RETURNING *""",
            circle_id,
            participant_id,
            status,
            answered,
            now,
            reason,
        ),
    )


async def add_member(
    conn: Conn, circle_id: uuid.UUID, participant_id: uuid.UUID, origin: MemberOrigin, now: datetime
) -> None:
    """A newcomer invited to a proposed circle (a refill)."""
    await conn.execute(
        """INSERT INTO circle_members (circle_id, participant_id, status, origin, invited_at)
           VALUES ($1, $2, 'invited', $3, $4)""",
        circle_id,
        participant_id,
        origin,
        now,
    )


async def update_live(
    conn: Conn,
    circle_id: uuid.UUID,
    now: datetime,
    *,
    facilitator_id: uuid.UUID | None,
    language: str | None,
    weekly_slot: SlotData | None,
    score: float,
    breakdown: dict[str, float],
    explanation: str,
    expires_at: datetime | None,
) -> CircleRow:
    """A published circle after its members changed (a refill, or a member left)."""
    return one_row(
        CircleRow,
        await conn.fetchrow(
            """UPDATE circles SET facilitator_id = $2, language = $3, weekly_slot = $4, score = $5,
                      breakdown = $6, explanation = $7, expires_at = coalesce($8, expires_at), updated_at = $9
                WHERE id = $1 RETURNING *""",
            circle_id,
            facilitator_id,
            language,
            weekly_slot,
            score,
            breakdown,
            explanation,
            expires_at,
            now,
        ),
    )


async def mark_formed(conn: Conn, circle_id: uuid.UUID, now: datetime) -> CircleRow:
    return one_row(
        CircleRow,
        await conn.fetchrow(
            "UPDATE circles SET status = 'formed', formed_at = $2, updated_at = $2 WHERE id = $1 RETURNING *",
            circle_id,
            now,
        ),
    )


async def dissolve(conn: Conn, circle_id: uuid.UUID, reason: str, by: str, now: datetime) -> CircleRow:
    """The circle ends; its live members are released (free for another circle)."""
    await conn.execute(
        """UPDATE circle_members SET status = 'released', left_at = $2
            WHERE circle_id = $1 AND status IN ('invited', 'accepted')""",
        circle_id,
        now,
    )
    return one_row(
        CircleRow,
        await conn.fetchrow(
            """UPDATE circles SET status = 'dissolved', dissolved_at = $2, dissolved_reason = $3,
                      dissolved_by = $4, updated_at = $2
                WHERE id = $1 RETURNING *""",
            circle_id,
            now,
            reason,
            by,
        ),
    )


async def live_with(conn: Conn, participant_id: uuid.UUID, *, lock: bool = True) -> list[CircleRow]:
    """The proposed or formed circles the participant is a live member of (at most one), locked
    unless `lock` is False."""
    return as_rows(
        CircleRow,
        await conn.fetch(
            f"""SELECT c.* FROM circles c JOIN circle_members m ON m.circle_id = c.id
                WHERE m.participant_id = $1 AND m.status IN ('invited', 'accepted')
                  AND c.status IN ('proposed', 'formed')
                ORDER BY c.id{" FOR UPDATE OF c" if lock else ""}""",
            participant_id,
        ),
    )


async def cohorts_with_expired(conn: Conn, now: datetime) -> list[uuid.UUID]:
    """Cohorts with a proposed circle past its answer time that still waits for someone."""
    rows = await conn.fetch(
        """SELECT DISTINCT c.cohort_id FROM circles c JOIN circle_members m ON m.circle_id = c.id
            WHERE c.status = 'proposed' AND c.expires_at <= $1 AND m.status = 'invited'
            ORDER BY c.cohort_id""",
        now,
    )
    return [r["cohort_id"] for r in rows]


async def due_for_expiry(conn: Conn, cohort_id: uuid.UUID, now: datetime) -> list[CircleRow]:
    """The cohort's proposed circles past their answer time that still wait for someone, locked
    (oldest first)."""
    return as_rows(
        CircleRow,
        await conn.fetch(
            """SELECT c.* FROM circles c
                WHERE c.cohort_id = $1 AND c.status = 'proposed' AND c.expires_at <= $2
                  AND EXISTS (SELECT 1 FROM circle_members m
                               WHERE m.circle_id = c.id AND m.status = 'invited')
                ORDER BY c.expires_at, c.id FOR UPDATE OF c""",
            cohort_id,
            now,
        ),
    )


async def remove_from_drafts(conn: Conn, participant_ids: Sequence[uuid.UUID]) -> int:
    """An erased person leaves every draft circle (their run keeps no trace of them but their id in
    `removed`, so a re-solve leaves them out)."""
    status = await conn.execute(
        """DELETE FROM circle_members WHERE participant_id = ANY($1::uuid[]) AND status = 'draft'""",
        list(participant_ids),
    )
    await conn.execute(
        """UPDATE circle_runs SET removed = ARRAY(SELECT DISTINCT unnest(removed || $1::uuid[])),
                  left_out = (SELECT coalesce(jsonb_agg(x), '[]'::jsonb) FROM jsonb_array_elements(left_out) x
                               WHERE NOT (x->>'participant_id')::uuid = ANY($1::uuid[])),
                  version = version + 1
            WHERE status = 'draft'
              AND cohort_id IN (SELECT cohort_id FROM participants WHERE id = ANY($1::uuid[]))""",
        list(participant_ids),
    )
    # Their own words (a decline's reason) go with them.
    await conn.execute(
        "UPDATE circle_members SET decline_reason = NULL WHERE participant_id = ANY($1::uuid[])",
        list(participant_ids),
    )
    return int(status.split()[-1])


async def of_participants(conn: Conn, participant_ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
    """The person's circles and their part in each (for their data export): no other member's data."""
    rows = await conn.fetch(
        """SELECT c.id, c.cohort_id, c.status, c.language, c.weekly_slot, c.proposed_at, c.formed_at,
                  c.dissolved_at, m.participant_id, m.status AS member_status, m.responded_at,
                  m.decline_reason,
                  (c.facilitator_id = m.participant_id) AS facilitator
             FROM circle_members m JOIN circles c ON c.id = m.circle_id
            WHERE m.participant_id = ANY($1::uuid[]) AND c.status <> 'draft'
            ORDER BY c.created_at, c.id""",
        list(participant_ids),
    )
    return [dict(r) for r in rows]
