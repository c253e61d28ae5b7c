"""SQL for cohorts, participants, runs and pairs. Callers own the transaction."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from bridge_matching.api.schemas import CohortIn, ParticipantIn

Conn = asyncpg.Connection  # type: ignore[type-arg]


async def insert_cohort(conn: Conn, body: CohortIn, created_by: str) -> asyncpg.Record:
    row = await conn.fetchrow(
        """INSERT INTO cohorts (id, name, regions, hr_contact_email, enrolment_opens, enrolment_closes,
                                matching_date, programme_start, programme_end, inactivity_threshold_days,
                                created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *""",
        uuid.uuid4(), body.name, body.regions, str(body.hr_contact_email), body.enrolment_opens,
        body.enrolment_closes, body.matching_date, body.programme_start, body.programme_end,
        body.inactivity_threshold_days, created_by,
    )
    assert row is not None
    return row


async def get_cohort(conn: Conn, cohort_id: uuid.UUID, *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT * FROM cohorts WHERE id = $1{lock}", cohort_id)


async def list_cohorts(conn: Conn) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM cohorts ORDER BY created_at DESC")


async def upsert_participant(conn: Conn, cohort_id: uuid.UUID, p: ParticipantIn) -> tuple[asyncpg.Record, bool]:
    """Upserts by (cohort, employee id); returns the row and whether it was newly enrolled."""
    row = await conn.fetchrow(
        """INSERT INTO participants (id, cohort_id, employee_id, role, display_name, email, seniority_level,
                department, manager_employee_id, region, languages, timezone, locale, availability,
                skills_to_share, skills_to_learn, meeting_preference, capacity, requested_partners,
                blocked_partners)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20)
           ON CONFLICT (cohort_id, employee_id) DO UPDATE SET
                role = EXCLUDED.role, display_name = EXCLUDED.display_name, email = EXCLUDED.email,
                seniority_level = EXCLUDED.seniority_level, department = EXCLUDED.department,
                manager_employee_id = EXCLUDED.manager_employee_id, region = EXCLUDED.region,
                languages = EXCLUDED.languages, timezone = EXCLUDED.timezone, locale = EXCLUDED.locale,
                availability = EXCLUDED.availability, skills_to_share = EXCLUDED.skills_to_share,
                skills_to_learn = EXCLUDED.skills_to_learn, meeting_preference = EXCLUDED.meeting_preference,
                capacity = EXCLUDED.capacity, requested_partners = EXCLUDED.requested_partners,
                blocked_partners = EXCLUDED.blocked_partners, status = 'enrolled', updated_at = now()
           RETURNING *, (xmax = 0) AS inserted""",
        uuid.uuid4(), cohort_id, p.employee_id, p.role, p.display_name, str(p.email), p.seniority_level,
        p.department, p.manager_employee_id, p.region, p.languages, p.timezone, p.locale,
        [w.model_dump() for w in p.availability], p.skills_to_share, p.skills_to_learn,
        p.meeting_preference, p.capacity, p.requested_partners, p.blocked_partners,
    )
    assert row is not None
    return row, bool(row["inserted"])


async def enrolled_participants(conn: Conn, cohort_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM participants WHERE cohort_id = $1 AND status = 'enrolled' ORDER BY employee_id",
        cohort_id,
    )


async def participants_page(conn: Conn, cohort_id: uuid.UUID, limit: int, offset: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM participants WHERE cohort_id = $1 ORDER BY employee_id LIMIT $2 OFFSET $3",
        cohort_id, limit, offset,
    )


async def active_pairs(conn: Conn, cohort_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM pairs WHERE cohort_id = $1 AND status = 'formed' ORDER BY created_at, id", cohort_id
    )


async def insert_run(conn: Conn, cohort_id: uuid.UUID, created_by: str, stats: dict[str, Any],
                     unmatched: list[dict[str, Any]]) -> uuid.UUID:
    run_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO matching_runs (id, cohort_id, status, stats, unmatched, created_by) "
        "VALUES ($1, $2, 'completed', $3, $4, $5)",
        run_id, cohort_id, stats, unmatched, created_by,
    )
    return run_id


async def insert_pair(conn: Conn, *, cohort_id: uuid.UUID, run_id: uuid.UUID, mentor_id: uuid.UUID,
                      mentee_id: uuid.UUID, score: float, breakdown: dict[str, float],
                      explanation: str) -> asyncpg.Record:
    row = await conn.fetchrow(
        """INSERT INTO pairs (id, cohort_id, run_id, mentor_id, mentee_id, score, breakdown, explanation)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *""",
        uuid.uuid4(), cohort_id, run_id, mentor_id, mentee_id, score, breakdown, explanation,
    )
    assert row is not None
    return row
