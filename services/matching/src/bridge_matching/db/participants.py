"""The participants table: single upserts and edits, and the bulk upsert of an HRIS import.

The profile columns come from `domain.profile.PROFILE_FIELDS` (one definition of the profile).
Employee ids are compared case-insensitively: one participant per cohort and `lower(employee_id)`
(migration 0005), the id kept as first written; an upsert of `A1` updates the stored `a1`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bridge_matching.db.records import Conn, as_row, as_rows, for_update, maybe_row, one_row
from bridge_matching.domain.profile import (
    KEY,
    PROFILE_FIELDS,
    ParticipantIn,
    profile_values,
    resolve_references,
)
from bridge_matching.domain.rows import ParticipantRow

_COLUMNS = ", ".join(PROFILE_FIELDS)
_SET_PROFILE = ", ".join(f"{f} = EXCLUDED.{f}" for f in PROFILE_FIELDS)
_PROFILE_CHANGED = "({}) IS DISTINCT FROM ({})".format(
    ", ".join(f"participants.{f}" for f in PROFILE_FIELDS), ", ".join(f"EXCLUDED.{f}" for f in PROFILE_FIELDS)
)


async def upsert(
    conn: Conn, cohort_id: uuid.UUID, p: ParticipantIn, now: datetime
) -> tuple[ParticipantRow | None, bool]:
    """Upserts by (cohort, employee id): (row, newly enrolled). Row is None if nothing changed.

    A withdrawn participant who is enrolled again becomes enrolled (and counts as changed).
    """
    params = ", ".join(f"${i}" for i in range(5, 5 + len(PROFILE_FIELDS)))
    row = await conn.fetchrow(
        f"""INSERT INTO participants (id, cohort_id, employee_id, created_at, {_COLUMNS})
            VALUES ($1, $2, $3, $4, {params})
            ON CONFLICT (cohort_id, lower(employee_id)) DO UPDATE SET {_SET_PROFILE}, status = 'enrolled',
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
    return as_row(ParticipantRow, row), bool(row["inserted"])


async def update_profile(
    conn: Conn, participant_id: uuid.UUID, p: ParticipantIn, now: datetime
) -> ParticipantRow:
    sets = ", ".join(f"{f} = ${i}" for i, f in enumerate(PROFILE_FIELDS, start=3))
    return one_row(
        ParticipantRow,
        await conn.fetchrow(
            f"UPDATE participants SET {sets}, updated_at = $2 WHERE id = $1 RETURNING *",
            participant_id,
            now,
            *profile_values(p),
        ),
    )


async def get(conn: Conn, participant_id: uuid.UUID, *, lock: bool = False) -> ParticipantRow | None:
    return maybe_row(
        ParticipantRow,
        await conn.fetchrow(f"SELECT * FROM participants WHERE id = $1{for_update(lock)}", participant_id),
    )


async def by_ids(conn: Conn, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ParticipantRow]:
    rows = await conn.fetch("SELECT * FROM participants WHERE id = ANY($1::uuid[])", list(set(ids)))
    return {r.id: r for r in as_rows(ParticipantRow, rows)}


async def by_employee(conn: Conn, cohort_id: uuid.UUID, employee_id: str) -> ParticipantRow | None:
    """The cohort's participant with this employee id, compared case-insensitively."""
    return maybe_row(
        ParticipantRow,
        await conn.fetchrow(
            "SELECT * FROM participants WHERE cohort_id = $1 AND lower(employee_id) = lower($2)",
            cohort_id,
            employee_id,
        ),
    )


async def of_employee(conn: Conn, employee_id: str, limit: int) -> list[ParticipantRow]:
    """Every enrolment of this employee id (compared case-insensitively, migration 0012's index),
    the newest first."""
    rows = await conn.fetch(
        """SELECT * FROM participants WHERE lower(employee_id) = lower($1)
           ORDER BY created_at DESC, id LIMIT $2""",
        employee_id,
        limit,
    )
    return as_rows(ParticipantRow, rows)


async def withdraw(
    conn: Conn, participant_id: uuid.UUID, reason: str | None, now: datetime
) -> ParticipantRow:
    return one_row(
        ParticipantRow,
        await conn.fetchrow(
            """UPDATE participants SET status = 'withdrawn', withdrawn_at = $2, withdrawn_reason = $3,
                  updated_at = $2 WHERE id = $1 RETURNING *""",
            participant_id,
            now,
            reason,
        ),
    )


async def enrolled(conn: Conn, cohort_id: uuid.UUID) -> list[ParticipantRow]:
    """The cohort's enrolled participants, as the engine reads them: an id in a requested or blocked
    list or as a manager is spelled as the participant it names (`a1` for the stored `A1`), so the
    engine's exact comparisons are case-insensitive ones."""
    return resolve_references(
        as_rows(
            ParticipantRow,
            await conn.fetch(
                """SELECT * FROM participants WHERE cohort_id = $1 AND status = 'enrolled'
                   ORDER BY employee_id""",
                cohort_id,
            ),
        )
    )


async def page(
    conn: Conn, cohort_id: uuid.UUID, limit: int, offset: int, regions: Sequence[str] | None = None
) -> list[ParticipantRow]:
    """One page of the cohort's participants; only those whose home region is in `regions` unless None."""
    return as_rows(
        ParticipantRow,
        await conn.fetch(
            """SELECT * FROM participants WHERE cohort_id = $1 AND ($4::text[] IS NULL OR region = ANY($4))
             ORDER BY employee_id LIMIT $2 OFFSET $3""",
            cohort_id,
            limit,
            offset,
            None if regions is None else list(regions),
        ),
    )


async def managers(conn: Conn, cohort_id: uuid.UUID) -> dict[str, str | None]:
    """employee id -> manager's employee id, for everyone stored in the cohort."""
    rows = await conn.fetch(
        "SELECT employee_id, manager_employee_id FROM participants WHERE cohort_id = $1", cohort_id
    )
    return {r["employee_id"]: r["manager_employee_id"] for r in rows}


# --- the bulk upsert of an HRIS import --------------------------------------------------------------

STAGING_COLUMNS = (KEY, *PROFILE_FIELDS)
# The staging table has the participants' column types, except availability, which is copied as JSON text.
_STAGING_DDL = (
    "CREATE TEMP TABLE import_staging ON COMMIT DROP AS SELECT {} FROM participants WITH NO DATA".format(
        ", ".join("availability::text AS availability" if f == "availability" else f for f in STAGING_COLUMNS)
    )
)
_STAGED_PROFILE = ", ".join("availability::jsonb" if f == "availability" else f for f in PROFILE_FIELDS)
_IMPORT_UPSERT = f"""
INSERT INTO participants (id, cohort_id, employee_id, created_at, updated_at, {_COLUMNS})
SELECT gen_random_uuid(), $1, employee_id, $2, $2, {_STAGED_PROFILE} FROM import_staging
ON CONFLICT (cohort_id, lower(employee_id)) DO UPDATE SET {_SET_PROFILE}, updated_at = EXCLUDED.updated_at
WHERE {_PROFILE_CHANGED}
RETURNING *, (xmax = 0) AS inserted"""


def staging_record(p: ParticipantIn) -> tuple[Any, ...]:  # Any: one value per column
    """One COPY record in STAGING_COLUMNS order. Any: one value per column, of the column's type."""
    values = profile_values(p)
    at = PROFILE_FIELDS.index("availability")
    values[at] = json.dumps(values[at])
    return (p.employee_id, *values)


async def import_upsert(
    conn: Conn, cohort_id: uuid.UUID, profiles: Sequence[ParticipantIn], now: datetime
) -> list[tuple[ParticipantRow, bool]]:
    """COPYs the profiles into a staging table and upserts them in one statement, inside the caller's
    transaction: (row, newly enrolled) for every participant that was inserted or changed."""
    await conn.execute(_STAGING_DDL)
    await conn.copy_records_to_table(
        "import_staging", records=[staging_record(p) for p in profiles], columns=list(STAGING_COLUMNS)
    )
    changed = await conn.fetch(_IMPORT_UPSERT, cohort_id, now)
    return [(as_row(ParticipantRow, r), bool(r["inserted"])) for r in changed]
