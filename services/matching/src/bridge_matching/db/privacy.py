"""The privacy tables (erasures, erasure_answers, exports, export_parts) and the statements an
erasure and the retention job run over matching's other tables (docs/privacy.md)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridge_matching.db.records import Conn, as_rows, maybe_row, one_row
from bridge_matching.domain.privacy import ERASED_EMPLOYEE_PREFIX
from bridge_matching.domain.rows import (
    ErasureAnswerRow,
    ErasureRow,
    ExportPartRow,
    ExportRow,
    ParticipantRow,
)
from bridge_shared.db.locks import advisory_key
from bridge_shared.privacy.erased import ERASED_EMAIL, ERASED_NAME

# -- the erasure ledger ---------------------------------------------------------------------------


async def insert_erasure(
    conn: Conn,
    subject_hash: str,
    participant_ids: Sequence[uuid.UUID],
    cohort_ids: Sequence[uuid.UUID],
    requested_by: str,
    now: datetime,
) -> ErasureRow | None:
    """The new ledger row, or None if this person is already in the ledger."""
    return maybe_row(
        ErasureRow,
        await conn.fetchrow(
            """INSERT INTO erasures
                   (id, subject_hash, participant_ids, cohort_ids, requested_by, requested_at)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (subject_hash) DO NOTHING RETURNING *""",
            uuid.uuid4(),
            subject_hash,
            list(participant_ids),
            sorted(set(cohort_ids)),
            requested_by,
            now,
        ),
    )


async def erasure_by_hash(conn: Conn, subject_hash: str) -> ErasureRow | None:
    return maybe_row(
        ErasureRow, await conn.fetchrow("SELECT * FROM erasures WHERE subject_hash = $1", subject_hash)
    )


async def erasures_by_hashes(conn: Conn, hashes: Sequence[str]) -> list[ErasureRow]:
    return as_rows(
        ErasureRow,
        await conn.fetch("SELECT * FROM erasures WHERE subject_hash = ANY($1::text[])", list(hashes)),
    )


async def get_erasure(conn: Conn, erasure_id: uuid.UUID, *, lock: bool = False) -> ErasureRow | None:
    sql = "SELECT * FROM erasures WHERE id = $1" + (" FOR UPDATE" if lock else "")
    return maybe_row(ErasureRow, await conn.fetchrow(sql, erasure_id))


async def page_erasures(conn: Conn, limit: int, offset: int) -> list[ErasureRow]:
    return as_rows(
        ErasureRow,
        await conn.fetch(
            "SELECT * FROM erasures ORDER BY requested_at DESC, id LIMIT $1 OFFSET $2", limit, offset
        ),
    )


async def record_matching_answer(
    conn: Conn, erasure_id: uuid.UUID, erased: dict[str, int], now: datetime
) -> None:
    await conn.execute(
        "UPDATE erasures SET matching_completed_at = $2, matching_erased = $3 WHERE id = $1",
        erasure_id,
        now,
        erased,
    )


async def answers(conn: Conn, erasure_ids: Sequence[uuid.UUID]) -> list[ErasureAnswerRow]:
    return as_rows(
        ErasureAnswerRow,
        await conn.fetch(
            "SELECT * FROM erasure_answers WHERE erasure_id = ANY($1::uuid[]) ORDER BY service",
            list(erasure_ids),
        ),
    )


async def record_answer(
    conn: Conn, erasure_id: uuid.UUID, service: str, completed_at: datetime, erased: dict[str, int]
) -> bool:
    """Stores a service's confirmation once (a repeated one changes nothing)."""
    row = await conn.fetchval(
        """INSERT INTO erasure_answers (erasure_id, service, completed_at, erased) VALUES ($1, $2, $3, $4)
           ON CONFLICT (erasure_id, service) DO NOTHING RETURNING 1""",
        erasure_id,
        service,
        completed_at,
        erased,
    )
    return row is not None


async def complete_if_answered(
    conn: Conn, erasure_id: uuid.UUID, services: Sequence[str], now: datetime
) -> bool:
    """Marks the erasure completed once matching and every one of `services` have answered."""
    row = await conn.fetchval(
        """UPDATE erasures e SET completed_at = $3
            WHERE id = $1 AND completed_at IS NULL AND matching_completed_at IS NOT NULL
              AND (SELECT count(DISTINCT service) FROM erasure_answers a
                    WHERE a.erasure_id = e.id AND a.service = ANY($2::text[])) = cardinality($2::text[])
        RETURNING 1""",
        erasure_id,
        list(services),
        now,
    )
    return row is not None


async def complete_alone(conn: Conn, erasure_id: uuid.UUID, now: datetime) -> None:
    """An erasure of a person no other service knows (never enrolled: matching's directory alone held
    them) is complete once matching has answered."""
    await conn.execute(
        "UPDATE erasures SET completed_at = $2 WHERE id = $1 AND completed_at IS NULL", erasure_id, now
    )


async def lock_erasures(conn: Conn, schema: str, *, shared: bool = False) -> None:
    """Until the transaction ends: an erasure holds this alone; writing an HRIS delivery's report
    holds it shared. So a report is either written before an erasure (which then scrubs it) or
    checks the ledger after it (and leaves the person out), never in between."""
    fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    await conn.execute(f"SELECT {fn}($1)", advisory_key("privacy-erasure", schema))


# -- erasing a person from matching's tables --------------------------------------------------------


async def participants_of(conn: Conn, employee_id: str, *, lock: bool = False) -> list[ParticipantRow]:
    """Every enrolment of the person (all cohorts, the id compared case-insensitively), oldest first."""
    sql = "SELECT * FROM participants WHERE lower(employee_id) = lower($1) ORDER BY created_at, id"
    return as_rows(ParticipantRow, await conn.fetch(sql + (" FOR UPDATE" if lock else ""), employee_id))


async def any_erased(conn: Conn, participant_ids: Sequence[uuid.UUID]) -> bool:
    """Whether one of these participants has been erased (or anonymised by retention)."""
    return bool(
        await conn.fetchval(
            f"""SELECT EXISTS (SELECT 1 FROM participants WHERE id = ANY($1::uuid[])
                                 AND employee_id LIKE '{ERASED_EMPLOYEE_PREFIX}%')""",
            list(participant_ids),
        )
    )


async def anonymise(conn: Conn, participant_ids: Sequence[uuid.UUID], now: datetime) -> int:
    """The participant rows keep what counts need (role, cohort, region, skills, availability) and
    lose everything that identifies the person; they are withdrawn."""
    status = await conn.execute(
        f"""UPDATE participants SET display_name = $2, email = $3,
                   employee_id = '{ERASED_EMPLOYEE_PREFIX}' || id::text, manager_employee_id = NULL,
                   withdrawn_reason = NULL, requested_partners = '{{}}', blocked_partners = '{{}}',
                   status = 'withdrawn', withdrawn_at = coalesce(withdrawn_at, $4), updated_at = $4
             WHERE id = ANY($1::uuid[])""",
        list(participant_ids),
        ERASED_NAME,
        ERASED_EMAIL,
        now,
    )
    return int(status.split()[-1])


async def forget_references(
    conn: Conn, employee_ids: Sequence[str], cohort_ids: Sequence[uuid.UUID] | None
) -> int:
    """Removes the employee ids (in any spelling: ids compare case-insensitively) from other
    participants' requested/blocked partners and manager (in `cohort_ids`, or everywhere when
    None); returns how many rows changed."""
    status = await conn.execute(
        """UPDATE participants SET
               requested_partners = ARRAY(SELECT x FROM unnest(requested_partners) x
                                          WHERE lower(x) <> ALL($1::text[])),
               blocked_partners = ARRAY(SELECT x FROM unnest(blocked_partners) x
                                        WHERE lower(x) <> ALL($1::text[])),
               manager_employee_id = CASE WHEN lower(manager_employee_id) = ANY($1) THEN NULL
                                          ELSE manager_employee_id END
            WHERE ($2::uuid[] IS NULL OR cohort_id = ANY($2))
              AND (EXISTS (SELECT 1 FROM unnest(requested_partners || blocked_partners) x
                           WHERE lower(x) = ANY($1))
                   OR lower(manager_employee_id) = ANY($1))""",
        sorted({e.lower() for e in employee_ids}),
        None if cohort_ids is None else list(cohort_ids),
    )
    return int(status.split()[-1])


async def remove_from_drafts(conn: Conn, participant_ids: Sequence[uuid.UUID]) -> int:
    """Draft pairs (of runs not yet published) with the person are removed from their draft."""
    status = await conn.execute(
        """UPDATE draft_pairs SET removed = true, pinned = false
            WHERE (mentor_id = ANY($1::uuid[]) OR mentee_id = ANY($1::uuid[])) AND NOT removed
              AND run_id IN (SELECT id FROM matching_runs WHERE status IN ('queued', 'running', 'draft'))""",
        list(participant_ids),
    )
    return int(status.split()[-1])


@dataclass(frozen=True)
class TextTable:
    """A table whose text may name people: its key, free text, JSON and actor columns, and how its
    rows belong to a cohort (an SQL expression over the row, `$1` being the cohort ids)."""

    name: str
    texts: tuple[str, ...]
    documents: tuple[str, ...]
    actors: tuple[str, ...]
    in_cohorts: str
    key: str = "id"
    skip_locked: bool = False
    """Rows another transaction holds are passed over rather than waited for (an HRIS delivery a
    poll is writing: its report is scrubbed when it finishes, app/hris_sync.py)."""

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.texts, *self.documents, *self.actors)


TEXT_TABLES = (
    TextTable(
        "pairs",
        ("explanation", "dissolved_reason"),
        ("breakdown",),
        ("dissolved_by",),
        "cohort_id = ANY($1::uuid[])",
    ),
    TextTable(
        "draft_pairs",
        ("explanation",),
        ("breakdown",),
        (),
        "run_id IN (SELECT id FROM matching_runs WHERE cohort_id = ANY($1::uuid[]))",
    ),
    TextTable(
        "proposals", ("explanation", "decline_reason"), ("breakdown",), (), "cohort_id = ANY($1::uuid[])"
    ),
    TextTable(
        "matching_runs",
        ("error", "reason"),
        ("stats", "unmatched", "failed_attempts"),
        ("created_by", "published_by"),
        "cohort_id = ANY($1::uuid[])",
    ),
    TextTable(
        "import_jobs", ("error", "source"), ("report",), ("created_by",), "cohort_id = ANY($1::uuid[])"
    ),
    TextTable("audit_log", ("reason",), ("details",), ("actor",), "cohort_id = ANY($1::uuid[])"),
    TextTable("cohorts", ("name",), (), ("created_by",), "id = ANY($1::uuid[])"),
    # An erasure has no cohort: only an erasure of everywhere (cohort ids None) looks at it.
    TextTable("erasures", (), (), ("requested_by",), "cardinality($1::uuid[]) < 0"),
    # Nor has an HRIS delivery (the whole company's file): its rejected rows name people.
    TextTable(
        "hris_files", ("error",), ("report", "progress"), (), "cardinality($1::uuid[]) < 0", skip_locked=True
    ),
)


async def rows_naming(
    conn: Conn,
    table: TextTable,
    cohort_ids: Sequence[uuid.UUID] | None,
    patterns: Sequence[str],
    employee_ids: Sequence[str],
) -> list[dict[str, Any]]:  # Any: the columns' values
    """Rows of `table` (in `cohort_ids`, or anywhere when None) whose text or documents may contain
    one of the ILIKE `patterns`, or whose actor is one of `employee_ids`; locked (`skip_locked`: those
    another transaction holds are left out)."""
    found = " OR ".join(
        [f"{c} ILIKE ANY($2::text[])" for c in table.texts]
        + [f"{c}::text ILIKE ANY($2::text[])" for c in table.documents]
        + [f"lower({c}) = ANY($3::text[])" for c in table.actors]
        # every parameter is referenced (typed) whichever parts apply
        + ["cardinality($2::text[]) + cardinality($3::text[]) < 0"]
    )
    scope = "cardinality($1::uuid[]) >= 0" if cohort_ids is None else table.in_cohorts
    sql = (
        f"SELECT {table.key}, {', '.join(table.columns)} FROM {table.name} "
        f"WHERE ({scope}) AND ({found}) FOR UPDATE{' SKIP LOCKED' if table.skip_locked else ''}"
    )
    rows = await conn.fetch(
        sql,
        list(cohort_ids or []),
        list(patterns),
        [e.casefold() for e in employee_ids],
    )
    return [dict(r) for r in rows]


async def update_row(
    conn: Conn,
    table: TextTable,
    key: Any,
    values: dict[str, Any],  # Any: the key and column values
) -> None:
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(values, start=2))
    await conn.execute(f"UPDATE {table.name} SET {sets} WHERE {table.key} = $1", key, *values.values())


async def erase_hr_contact(conn: Conn, emails: Sequence[str]) -> int:
    """A cohort whose HR contact is the erased person keeps the placeholder (never mailed)."""
    status = await conn.execute(
        "UPDATE cohorts SET hr_contact_email = $2 WHERE lower(hr_contact_email) = ANY($1::text[])",
        [e.casefold() for e in emails],
        ERASED_EMAIL,
    )
    return int(status.split()[-1])


# -- exports ----------------------------------------------------------------------------------------


async def insert_export(
    conn: Conn,
    export_id: uuid.UUID,
    subject_hash: str,
    participant_ids: Sequence[uuid.UUID],
    person: dict[str, Any],  # Any: JSON
    section: dict[str, Any],  # Any: JSON
    now: datetime,
) -> ExportRow:
    return one_row(
        ExportRow,
        await conn.fetchrow(
            """INSERT INTO exports (id, subject_hash, participant_ids, person, matching_section, requested_at)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
            export_id,
            subject_hash,
            list(participant_ids),
            person,
            section,
            now,
        ),
    )


async def get_export(conn: Conn, export_id: uuid.UUID) -> ExportRow | None:
    return maybe_row(ExportRow, await conn.fetchrow("SELECT * FROM exports WHERE id = $1", export_id))


async def store_part(
    conn: Conn,
    export_id: uuid.UUID,
    service: str,
    chunk: int,
    chunks: int,
    data: dict[str, Any],  # Any: JSON
    now: datetime,
) -> bool:
    """Stores one part if its export still exists (it may have been erased or expired)."""
    row = await conn.fetchval(
        """INSERT INTO export_parts (export_id, service, chunk, chunks, data, received_at)
           SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM exports WHERE id = $1)
           ON CONFLICT (export_id, service, chunk) DO NOTHING RETURNING 1""",
        export_id,
        service,
        chunk,
        chunks,
        data,
        now,
    )
    return row is not None


async def parts(conn: Conn, export_id: uuid.UUID) -> list[ExportPartRow]:
    return as_rows(
        ExportPartRow,
        await conn.fetch(
            "SELECT * FROM export_parts WHERE export_id = $1 ORDER BY service, chunk", export_id
        ),
    )


async def delete_exports_of(conn: Conn, subject_hash: str) -> int:
    status = await conn.execute("DELETE FROM exports WHERE subject_hash = $1", subject_hash)
    return int(status.split()[-1])


# -- what an export of matching holds ---------------------------------------------------------------


async def pairs_of(conn: Conn, participant_ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
    """The person's pairs, with the partner's display name (what the person may see of them)."""
    rows = await conn.fetch(
        """SELECT x.id, x.cohort_id, x.status, x.origin, x.score, x.breakdown, x.explanation, x.formed_at,
                  x.dissolved_at, x.dissolved_reason,
                  CASE WHEN x.mentor_id = ANY($1::uuid[]) THEN 'mentor' ELSE 'mentee' END AS my_role,
                  partner.id AS partner_id, partner.display_name AS partner_name
             FROM pairs x
             JOIN participants partner ON partner.id = CASE WHEN x.mentor_id = ANY($1::uuid[])
                                                         THEN x.mentee_id ELSE x.mentor_id END
            WHERE x.mentor_id = ANY($1::uuid[]) OR x.mentee_id = ANY($1::uuid[])
            ORDER BY x.created_at, x.id""",
        list(participant_ids),
    )
    return [dict(r) for r in rows]


async def proposals_of(conn: Conn, participant_ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
    """The person's proposals, with the partner's display name; a decline reason only when the
    person wrote it."""
    rows = await conn.fetch(
        """SELECT x.id, x.cohort_id, x.status, x.source, x.score, x.breakdown, x.explanation, x.created_at,
                  x.expires_at, x.resolved_at,
                  CASE WHEN x.mentor_id = ANY($1::uuid[]) THEN 'mentor' ELSE 'mentee' END AS my_role,
                  CASE WHEN x.mentor_id = ANY($1::uuid[]) THEN x.mentor_response ELSE x.mentee_response END
                      AS my_response,
                  CASE WHEN x.declined_by = ANY($1::uuid[]) THEN x.decline_reason END AS my_decline_reason,
                  partner.id AS partner_id, partner.display_name AS partner_name
             FROM proposals x
             JOIN participants partner ON partner.id = CASE WHEN x.mentor_id = ANY($1::uuid[])
                                                         THEN x.mentee_id ELSE x.mentor_id END
            WHERE x.mentor_id = ANY($1::uuid[]) OR x.mentee_id = ANY($1::uuid[])
            ORDER BY x.created_at, x.id""",
        list(participant_ids),
    )
    return [dict(r) for r in rows]


async def audit_about(
    conn: Conn, cohort_ids: Sequence[uuid.UUID], participant_ids: Sequence[uuid.UUID], employee_id: str
) -> list[dict[str, Any]]:
    """Audit entries of the person's cohorts that name them (by participant id, directory entry id,
    both in `participant_ids`, or employee id)."""
    needles = [f"%{p}%" for p in participant_ids] + [f"%{employee_id}%"]
    rows = await conn.fetch(
        """SELECT id, cohort_id, actor, action, reason, details, at FROM audit_log
            WHERE cohort_id = ANY($1::uuid[]) AND (details::text ILIKE ANY($2::text[]) OR actor = $3)
            ORDER BY id""",
        list(cohort_ids),
        needles,
        employee_id,
    )
    return [dict(r) for r in rows]


# -- retention ----------------------------------------------------------------------------------------


async def delete_audit_before(conn: Conn, before: datetime, limit: int) -> int:
    status = await conn.execute(
        """DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < $1 ORDER BY at, id
                                              LIMIT $2 FOR UPDATE SKIP LOCKED)""",
        before,
        limit,
    )
    return int(status.split()[-1])


async def withdrawn_before(conn: Conn, before: datetime, limit: int) -> list[ParticipantRow]:
    """Withdrawn participants not yet anonymised who left before `before`; locked."""
    return as_rows(
        ParticipantRow,
        await conn.fetch(
            f"""SELECT * FROM participants WHERE status = 'withdrawn' AND withdrawn_at < $1
                  AND employee_id NOT LIKE '{ERASED_EMPLOYEE_PREFIX}%'
                ORDER BY withdrawn_at, id LIMIT $2 FOR UPDATE SKIP LOCKED""",
            before,
            limit,
        ),
    )


async def clear_import_reports_before(conn: Conn, before: datetime, limit: int) -> int:
    status = await conn.execute(
        """UPDATE import_jobs SET report = NULL, error = NULL, source = NULL
            WHERE id IN (SELECT id FROM import_jobs WHERE finished_at < $1
                           AND (report IS NOT NULL OR error IS NOT NULL OR source IS NOT NULL)
                         ORDER BY finished_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)""",
        before,
        limit,
    )
    return int(status.split()[-1])


async def delete_exports_before(conn: Conn, before: datetime, limit: int) -> int:
    status = await conn.execute(
        """DELETE FROM exports WHERE id IN (SELECT id FROM exports WHERE requested_at < $1
                                            ORDER BY requested_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)""",
        before,
        limit,
    )
    return int(status.split()[-1])
