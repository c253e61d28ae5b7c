"""The cohorts table."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bridge_matching.db.records import Conn, as_rows, for_update, maybe_row, one_row
from bridge_matching.domain.cohort import CohortIn
from bridge_matching.domain.rows import CohortRow


async def insert(conn: Conn, body: CohortIn, created_by: str, now: datetime) -> CohortRow:
    return one_row(
        CohortRow,
        await conn.fetchrow(
            """INSERT INTO cohorts (id, name, regions, hr_contact_email, enrolment_opens, enrolment_closes,
                                matching_date, programme_start, programme_end, inactivity_threshold_days,
                                created_by, skill_taxonomy, policy, created_at, updated_at, phase_changed_at,
                                formats)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $14, $15) RETURNING *""",
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
            list(body.formats),
        ),
    )


async def get(conn: Conn, cohort_id: uuid.UUID, *, lock: bool = False) -> CohortRow | None:
    return maybe_row(
        CohortRow, await conn.fetchrow(f"SELECT * FROM cohorts WHERE id = $1{for_update(lock)}", cohort_id)
    )


async def list_all(conn: Conn, regions: Sequence[str] | None = None) -> list[CohortRow]:
    """Every cohort, newest first; with `regions`, only those touching one of them."""
    return as_rows(
        CohortRow,
        await conn.fetch(
            "SELECT * FROM cohorts WHERE ($1::text[] IS NULL OR regions && $1::text[]) "
            "ORDER BY created_at DESC, id",
            None if regions is None else list(regions),
        ),
    )


async def set_phase(conn: Conn, cohort_id: uuid.UUID, phase: str, now: datetime) -> CohortRow:
    return one_row(
        CohortRow,
        await conn.fetchrow(
            "UPDATE cohorts SET phase = $2, phase_changed_at = $3, updated_at = $3 WHERE id = $1 RETURNING *",
            cohort_id,
            phase,
            now,
        ),
    )


async def set_policy(conn: Conn, cohort_id: uuid.UUID, policy: dict[str, Any], now: datetime) -> CohortRow:
    """Replaces the stored policy (Any: a JSON document, PolicyIn.model_dump())."""
    return one_row(
        CohortRow,
        await conn.fetchrow(
            "UPDATE cohorts SET policy = $2, updated_at = $3 WHERE id = $1 RETURNING *",
            cohort_id,
            policy,
            now,
        ),
    )
