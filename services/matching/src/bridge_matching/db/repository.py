"""SQL for cohorts, participants, runs, proposals, pairs and the audit log. Callers own the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from bridge_matching.api.schemas import CohortIn, ParticipantIn

if TYPE_CHECKING:
    Conn = asyncpg.Connection[Any]
else:
    Conn = asyncpg.Connection
Record = Any  # asyncpg.Record; Connection[Any] returns Any rows

PROFILE_FIELDS = (
    "role",
    "display_name",
    "email",
    "seniority_level",
    "department",
    "manager_employee_id",
    "region",
    "languages",
    "timezone",
    "locale",
    "availability",
    "skills_to_share",
    "skills_to_learn",
    "meeting_preference",
    "capacity",
    "requested_partners",
    "blocked_partners",
)


# --- cohorts -------------------------------------------------------------------------------------


async def insert_cohort(conn: Conn, body: CohortIn, created_by: str, now: datetime) -> Record:
    row = await conn.fetchrow(
        """INSERT INTO cohorts (id, name, regions, hr_contact_email, enrolment_opens, enrolment_closes,
                                matching_date, programme_start, programme_end, inactivity_threshold_days,
                                created_by, skill_taxonomy, policy, created_at, updated_at, phase_changed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $14) RETURNING *""",
        uuid.uuid4(),
        body.name,
        body.regions,
        str(body.hr_contact_email),
        body.enrolment_opens,
        body.enrolment_closes,
        body.matching_date,
        body.programme_start,
        body.programme_end,
        body.inactivity_threshold_days,
        created_by,
        body.skill_taxonomy,
        body.policy.model_dump(),
        now,
    )
    assert row is not None
    return row


async def get_cohort(conn: Conn, cohort_id: uuid.UUID, *, for_update: bool = False) -> Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT * FROM cohorts WHERE id = $1{lock}", cohort_id)


async def list_cohorts(conn: Conn) -> list[Record]:
    return await conn.fetch("SELECT * FROM cohorts ORDER BY created_at DESC, id")


async def set_phase(conn: Conn, cohort_id: uuid.UUID, phase: str, now: datetime) -> Record:
    row = await conn.fetchrow(
        "UPDATE cohorts SET phase = $2, phase_changed_at = $3, updated_at = $3 WHERE id = $1 RETURNING *",
        cohort_id,
        phase,
        now,
    )
    assert row is not None
    return row


async def set_policy(conn: Conn, cohort_id: uuid.UUID, policy: dict[str, Any], now: datetime) -> Record:
    row = await conn.fetchrow(
        "UPDATE cohorts SET policy = $2, updated_at = $3 WHERE id = $1 RETURNING *", cohort_id, policy, now
    )
    assert row is not None
    return row


# --- participants --------------------------------------------------------------------------------


def profile_values(p: ParticipantIn) -> list[Any]:
    return [
        p.role,
        p.display_name,
        str(p.email),
        p.seniority_level,
        p.department,
        p.manager_employee_id,
        p.region,
        p.languages,
        p.timezone,
        p.locale,
        [w.model_dump() for w in p.availability],
        p.skills_to_share,
        p.skills_to_learn,
        p.meeting_preference,
        p.capacity,
        p.requested_partners,
        p.blocked_partners,
    ]


_SET_PROFILE = ", ".join(f"{f} = EXCLUDED.{f}" for f in PROFILE_FIELDS)
_PROFILE_CHANGED = "({}) IS DISTINCT FROM ({})".format(
    ", ".join(f"participants.{f}" for f in PROFILE_FIELDS), ", ".join(f"EXCLUDED.{f}" for f in PROFILE_FIELDS)
)


async def upsert_participant(
    conn: Conn, cohort_id: uuid.UUID, p: ParticipantIn, now: datetime
) -> tuple[Record | None, bool]:
    """Upserts by (cohort, employee id): (row, newly enrolled). Row is None if nothing changed.

    A withdrawn participant who is enrolled again becomes enrolled (and counts as changed).
    """
    cols = ", ".join(PROFILE_FIELDS)
    params = ", ".join(f"${i}" for i in range(5, 5 + len(PROFILE_FIELDS)))
    row = await conn.fetchrow(
        f"""INSERT INTO participants (id, cohort_id, employee_id, created_at, {cols})
            VALUES ($1, $2, $3, $4, {params})
            ON CONFLICT (cohort_id, employee_id) DO UPDATE SET {_SET_PROFILE}, status = 'enrolled',
                withdrawn_at = NULL, withdrawn_reason = NULL, updated_at = EXCLUDED.created_at
            WHERE {_PROFILE_CHANGED} OR participants.status <> 'enrolled'
            RETURNING *, (xmax = 0) AS inserted""",
        uuid.uuid4(),
        cohort_id,
        p.employee_id,
        now,
        *profile_values(p),
    )
    if row is None:
        return None, False
    return row, bool(row["inserted"])


async def update_profile(conn: Conn, participant_id: uuid.UUID, p: ParticipantIn, now: datetime) -> Record:
    sets = ", ".join(f"{f} = ${i}" for i, f in enumerate(PROFILE_FIELDS, start=3))
    row = await conn.fetchrow(
        f"UPDATE participants SET {sets}, updated_at = $2 WHERE id = $1 RETURNING *",
        participant_id,
        now,
        *profile_values(p),
    )
    assert row is not None
    return row


async def get_participant(
    conn: Conn, participant_id: uuid.UUID, *, for_update: bool = False
) -> Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT * FROM participants WHERE id = $1{lock}", participant_id)


async def participants_by_ids(conn: Conn, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Record]:
    rows = await conn.fetch("SELECT * FROM participants WHERE id = ANY($1::uuid[])", list(set(ids)))
    return {r["id"]: r for r in rows}


async def participant_by_employee(conn: Conn, cohort_id: uuid.UUID, employee_id: str) -> Record | None:
    return await conn.fetchrow(
        "SELECT * FROM participants WHERE cohort_id = $1 AND employee_id = $2", cohort_id, employee_id
    )


async def withdraw(conn: Conn, participant_id: uuid.UUID, reason: str | None, now: datetime) -> Record:
    row = await conn.fetchrow(
        """UPDATE participants SET status = 'withdrawn', withdrawn_at = $2, withdrawn_reason = $3,
                  updated_at = $2 WHERE id = $1 RETURNING *""",
        participant_id,
        now,
        reason,
    )
    assert row is not None
    return row


async def enrolled_participants(conn: Conn, cohort_id: uuid.UUID) -> list[Record]:
    return await conn.fetch(
        "SELECT * FROM participants WHERE cohort_id = $1 AND status = 'enrolled' ORDER BY employee_id",
        cohort_id,
    )


async def participants_page(conn: Conn, cohort_id: uuid.UUID, limit: int, offset: int) -> list[Record]:
    return await conn.fetch(
        "SELECT * FROM participants WHERE cohort_id = $1 ORDER BY employee_id LIMIT $2 OFFSET $3",
        cohort_id,
        limit,
        offset,
    )


async def cohort_employees(conn: Conn, cohort_id: uuid.UUID) -> dict[str, tuple[uuid.UUID, str | None]]:
    rows = await conn.fetch(
        "SELECT employee_id, id, manager_employee_id FROM participants WHERE cohort_id = $1", cohort_id
    )
    return {r["employee_id"]: (r["id"], r["manager_employee_id"]) for r in rows}


# --- occupancy, exclusions and history for the engine --------------------------------------------


async def occupied_pairs(conn: Conn, cohort_id: uuid.UUID) -> list[Record]:
    """Accepted pairs and open proposals: the engine keeps them (fixed) and rematches everyone else."""
    return await conn.fetch(
        """SELECT mentor_id, mentee_id, 'pair' AS kind, id FROM pairs
            WHERE cohort_id = $1 AND status = 'formed'
           UNION ALL
           SELECT mentor_id, mentee_id, 'proposal', id FROM proposals
            WHERE cohort_id = $1 AND status = 'pending'
           ORDER BY 1, 2""",
        cohort_id,
    )


async def excluded_pairs(conn: Conn, cohort_id: uuid.UUID) -> list[Record]:
    """Declined, expired or cancelled proposals and dissolved pairs are never proposed again."""
    return await conn.fetch(
        """SELECT DISTINCT mentor_id, mentee_id FROM (
               SELECT mentor_id, mentee_id FROM proposals
                WHERE cohort_id = $1 AND status IN ('declined', 'expired', 'cancelled')
               UNION ALL
               SELECT mentor_id, mentee_id FROM pairs WHERE cohort_id = $1 AND status = 'dissolved') x""",
        cohort_id,
    )


async def history_pairs(conn: Conn, cohort_id: uuid.UUID) -> list[tuple[str, str]]:
    """Earlier partners (in other cohorts) of this cohort's employees, by employee id."""
    rows = await conn.fetch(
        """SELECT DISTINCT m.employee_id AS mentor, e.employee_id AS mentee
             FROM pairs p
             JOIN participants m ON m.id = p.mentor_id
             JOIN participants e ON e.id = p.mentee_id
            WHERE p.cohort_id <> $1
              AND m.employee_id IN (SELECT employee_id FROM participants WHERE cohort_id = $1)
              AND e.employee_id IN (SELECT employee_id FROM participants WHERE cohort_id = $1)""",
        cohort_id,
    )
    return [(r["mentor"], r["mentee"]) for r in rows]


# --- runs and drafts -----------------------------------------------------------------------------


async def supersede_drafts(conn: Conn, cohort_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        "UPDATE matching_runs SET status = 'superseded', updated_at = $2 "
        "WHERE cohort_id = $1 AND status = 'draft'",
        cohort_id,
        now,
    )


async def update_run_result(
    conn: Conn, run_id: uuid.UUID, stats: dict[str, Any], unmatched: list[dict[str, Any]], now: datetime
) -> None:
    await conn.execute(
        "UPDATE matching_runs SET stats = $2, unmatched = $3, updated_at = $4 WHERE id = $1",
        run_id,
        stats,
        unmatched,
        now,
    )


async def get_run(conn: Conn, run_id: uuid.UUID, *, for_update: bool = False) -> Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT * FROM matching_runs WHERE id = $1{lock}", run_id)


async def insert_draft_pairs(conn: Conn, run_id: uuid.UUID, pairs: Sequence[dict[str, Any]]) -> None:
    if not pairs:
        return
    await conn.execute(
        """INSERT INTO draft_pairs (id, run_id, mentor_id, mentee_id, score, breakdown, explanation,
                                    violations, pinned, origin)
           SELECT gen_random_uuid(), $1, m, e, s, b::jsonb, x, coalesce(string_to_array(v, ','), '{}'), pin, o
             FROM unnest($2::uuid[], $3::uuid[], $4::float8[], $5::text[], $6::text[], $7::text[],
                         $8::bool[], $9::text[]) AS t(m, e, s, b, x, v, pin, o)""",
        run_id,
        [p["mentor_id"] for p in pairs],
        [p["mentee_id"] for p in pairs],
        [p["score"] for p in pairs],
        [_json(p["breakdown"]) for p in pairs],
        [p["explanation"] for p in pairs],
        [",".join(p.get("violations", ())) or None for p in pairs],
        [p.get("pinned", False) for p in pairs],
        [p.get("origin", "matched") for p in pairs],
    )


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


async def draft_pairs(conn: Conn, run_id: uuid.UUID, *, include_removed: bool = False) -> list[Record]:
    removed = "" if include_removed else " AND NOT d.removed"
    return await conn.fetch(
        f"""SELECT d.*, m.employee_id AS mentor_employee_id, e.employee_id AS mentee_employee_id
              FROM draft_pairs d
              JOIN participants m ON m.id = d.mentor_id
              JOIN participants e ON e.id = d.mentee_id
             WHERE d.run_id = $1{removed} ORDER BY m.employee_id, e.employee_id""",
        run_id,
    )


async def get_draft_pair(conn: Conn, run_id: uuid.UUID, pair_id: uuid.UUID) -> Record | None:
    return await conn.fetchrow(
        "SELECT * FROM draft_pairs WHERE run_id = $1 AND id = $2 AND NOT removed FOR UPDATE", run_id, pair_id
    )


async def delete_unpinned_drafts(conn: Conn, run_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM draft_pairs WHERE run_id = $1 AND NOT pinned AND NOT removed", run_id)


async def mark_published(conn: Conn, run_id: uuid.UUID, by: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE matching_runs SET status = 'published', published_at = $2, published_by = $3, "
        "updated_at = $2 "
        "WHERE id = $1",
        run_id,
        now,
        by,
    )


# --- proposals and pairs -------------------------------------------------------------------------


async def insert_proposals(
    conn: Conn,
    cohort_id: uuid.UUID,
    run_id: uuid.UUID | None,
    source: str,
    requested_by: uuid.UUID | None,
    rows: Sequence[dict[str, Any]],
    expires_at: datetime,
    now: datetime,
) -> list[Record]:
    return await conn.fetch(
        """INSERT INTO proposals (id, cohort_id, run_id, source, requested_by, mentor_id, mentee_id, score,
                                  breakdown, explanation, expires_at, created_at)
           SELECT gen_random_uuid(), $1, $2, $3, $4, m, e, s, b::jsonb, x, $10, $11
             FROM unnest($5::uuid[], $6::uuid[], $7::float8[], $8::text[], $9::text[]) AS t(m, e, s, b, x)
           RETURNING *""",
        cohort_id,
        run_id,
        source,
        requested_by,
        [r["mentor_id"] for r in rows],
        [r["mentee_id"] for r in rows],
        [r["score"] for r in rows],
        [_json(r["breakdown"]) for r in rows],
        [r["explanation"] for r in rows],
        expires_at,
        now,
    )


async def get_proposal(conn: Conn, proposal_id: uuid.UUID, *, for_update: bool = False) -> Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT * FROM proposals WHERE id = $1{lock}", proposal_id)


async def list_proposals(
    conn: Conn, cohort_id: uuid.UUID, status: str | None, participant_id: uuid.UUID | None = None
) -> list[Record]:
    return await conn.fetch(
        """SELECT * FROM proposals WHERE cohort_id = $1 AND ($2::text IS NULL OR status = $2)
             AND ($3::uuid IS NULL OR mentor_id = $3 OR mentee_id = $3)
           ORDER BY created_at, id""",
        cohort_id,
        status,
        participant_id,
    )


async def insert_pair(
    conn: Conn,
    *,
    cohort_id: uuid.UUID,
    run_id: uuid.UUID | None,
    mentor_id: uuid.UUID,
    mentee_id: uuid.UUID,
    score: float,
    breakdown: dict[str, float],
    explanation: str,
    proposal_id: uuid.UUID | None,
    origin: str,
    now: datetime,
) -> Record:
    row = await conn.fetchrow(
        """INSERT INTO pairs (id, cohort_id, run_id, mentor_id, mentee_id, score, breakdown, explanation,
                              proposal_id, origin, created_at, formed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING *""",
        uuid.uuid4(),
        cohort_id,
        run_id,
        mentor_id,
        mentee_id,
        score,
        breakdown,
        explanation,
        proposal_id,
        origin,
        now,
    )
    assert row is not None
    return row


async def get_pair(conn: Conn, pair_id: uuid.UUID, *, for_update: bool = False) -> Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT * FROM pairs WHERE id = $1{lock}", pair_id)


async def list_pairs(conn: Conn, cohort_id: uuid.UUID, status: str | None = "formed") -> list[Record]:
    return await conn.fetch(
        "SELECT * FROM pairs WHERE cohort_id = $1 AND ($2::text IS NULL OR status = $2) "
        "ORDER BY created_at, id",
        cohort_id,
        status,
    )


async def dissolve_pair(conn: Conn, pair_id: uuid.UUID, reason: str, by: str, now: datetime) -> Record:
    row = await conn.fetchrow(
        """UPDATE pairs SET status = 'dissolved', dissolved_at = $2, dissolved_reason = $3, dissolved_by = $4
            WHERE id = $1 RETURNING *""",
        pair_id,
        now,
        reason,
        by,
    )
    assert row is not None
    return row


# --- audit ---------------------------------------------------------------------------------------


async def audit(
    conn: Conn,
    cohort_id: uuid.UUID,
    actor: str,
    action: str,
    reason: str | None,
    details: dict[str, Any],
    now: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (cohort_id, actor, action, reason, details, at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        cohort_id,
        actor,
        action,
        reason,
        details,
        now,
    )


async def fetch_one(conn: Conn, sql: str, *args: Any) -> Record:
    """fetchrow for statements that always return a row (UPDATE ... RETURNING of a locked row)."""
    row = await conn.fetchrow(sql, *args)
    if row is None:
        raise LookupError("expected a row")
    return row


async def audit_entries(conn: Conn, cohort_id: uuid.UUID) -> list[Record]:
    return await conn.fetch("SELECT * FROM audit_log WHERE cohort_id = $1 ORDER BY id", cohort_id)
