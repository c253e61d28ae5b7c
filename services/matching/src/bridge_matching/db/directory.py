"""The company directory's tables (migration 0008): directory_entries and pair_flags.

An entry stores its DirectoryRecord whole as JSON (`record`, read back exactly as written) beside the
columns it is looked up by (employee id, user name, external id, region, manager, dates). Employee ids
and user names are compared case-insensitively (`lower(...)`), external ids exactly; each is unique
among entries not deleted. A deleted entry keeps its row (`deleted_at`) but is gone for every read here,
until the retention job purges it.

Also the reads the directory's effects need across cohorts: a person's live enrolments and the formed
pairs of a set of people, by employee key; and what privacy needs (docs/privacy.md): an erasure's
statements, the retention job's purges.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from bridge_matching.db.records import Conn, as_row, as_rows, for_update, maybe_row, one_row
from bridge_matching.domain.directory import DirectoryRecord, DirectoryRow, LeftCause, Source
from bridge_matching.domain.rows import PairRow, ParticipantRow
from bridge_shared.db.locks import advisory_key

Status = Literal["live", "left"]
UniqueField = Literal["employee_id", "user_name", "external_id"]

_LIVE = "deleted_at IS NULL"


async def lock_people(conn: Conn, schema: str, keys: Collection[str]) -> None:
    """Serialises writes about these employee keys (`id_key`) until the transaction ends, in a fixed
    order so two writers never wait on each other: a person's entry is created once, even by two
    writers at the same moment (SCIM and an HRIS file)."""
    for key in sorted(set(keys)):
        await conn.execute("SELECT pg_advisory_xact_lock($1)", advisory_key("directory", schema, key))


def _columns(record: DirectoryRecord) -> tuple[object, ...]:
    """The looked-up columns, in _RECORD_COLUMNS order, from the record."""
    return (
        record.employee_id,
        record.user_name,
        record.external_id,
        record.display_name,
        str(record.email),
        record.department,
        record.manager_employee_id,
        record.region,
        record.start_date,
        record.termination_date,
        record.active,
        record.model_dump(mode="json"),
    )


_RECORD_COLUMNS = (
    "employee_id",
    "user_name",
    "external_id",
    "display_name",
    "email",
    "department",
    "manager_employee_id",
    "region",
    "start_date",
    "termination_date",
    "active",
    "record",
)


async def get(conn: Conn, person_id: uuid.UUID, *, lock: bool = False) -> DirectoryRow | None:
    """The entry (None when absent or deleted)."""
    return maybe_row(
        DirectoryRow,
        await conn.fetchrow(
            f"SELECT * FROM directory_entries WHERE id = $1 AND {_LIVE}{for_update(lock)}", person_id
        ),
    )


async def by_employee(conn: Conn, employee_id: str, *, lock: bool = False) -> DirectoryRow | None:
    """The entry with this employee id, compared case-insensitively (None when absent or deleted)."""
    return maybe_row(
        DirectoryRow,
        await conn.fetchrow(
            f"""SELECT * FROM directory_entries WHERE lower(employee_id) = lower($1) AND {_LIVE}
                {for_update(lock)}""",
            employee_id,
        ),
    )


async def holder(conn: Conn, field: UniqueField, value: str, *, other_than: uuid.UUID | None) -> bool:
    """Whether an entry other than `other_than` holds this employee id / user name (case-insensitive)
    or external id (exact)."""
    match field:
        case "employee_id":
            where = "lower(employee_id) = lower($1)"
        case "user_name":
            where = "lower(user_name) = lower($1)"
        case "external_id":
            where = "external_id = $1"
    found = await conn.fetchval(
        f"""SELECT EXISTS (SELECT 1 FROM directory_entries
             WHERE {where} AND {_LIVE} AND ($2::uuid IS NULL OR id <> $2))""",
        value,
        other_than,
    )
    return bool(found)


async def insert(
    conn: Conn,
    record: DirectoryRecord,
    *,
    source: Source,
    now: datetime,
    left_cause: LeftCause | None,
) -> DirectoryRow:
    columns = ", ".join(_RECORD_COLUMNS)
    params = ", ".join(f"${i}" for i in range(5, 5 + len(_RECORD_COLUMNS)))
    return one_row(
        DirectoryRow,
        await conn.fetchrow(
            f"""INSERT INTO directory_entries (id, source, created_at, updated_at, left_at, left_cause,
                                               version, {columns})
                VALUES ($1, $2, $3, $3, CASE WHEN $4::text IS NULL THEN NULL ELSE $3::timestamptz END, $4, 1,
                        {params})
                RETURNING *""",
            uuid.uuid4(),
            source,
            now,
            left_cause,
            *_columns(record),
        ),
    )


async def update(
    conn: Conn,
    person_id: uuid.UUID,
    record: DirectoryRecord,
    *,
    source: Source,
    now: datetime,
    left_at: datetime | None,
    left_cause: LeftCause | None,
) -> DirectoryRow:
    """A new record (and leaving state): the version grows by one."""
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(_RECORD_COLUMNS, start=6))
    return one_row(
        DirectoryRow,
        await conn.fetchrow(
            f"""UPDATE directory_entries SET {sets}, source = $2, updated_at = $3, left_at = $4,
                       left_cause = $5, version = version + 1
                 WHERE id = $1 RETURNING *""",
            person_id,
            source,
            now,
            left_at,
            left_cause,
            *_columns(record),
        ),
    )


async def mark_left(
    conn: Conn, person_id: uuid.UUID, cause: LeftCause, *, source: Source, now: datetime
) -> DirectoryRow:
    """The person left without a new record (the termination date came): the version grows by one."""
    return one_row(
        DirectoryRow,
        await conn.fetchrow(
            """UPDATE directory_entries SET left_at = $2, left_cause = $3, source = $4, updated_at = $2,
                      version = version + 1
                WHERE id = $1 RETURNING *""",
            person_id,
            now,
            cause,
            source,
        ),
    )


async def delete(
    conn: Conn, person_id: uuid.UUID, *, source: Source, now: datetime, left_cause: LeftCause | None
) -> None:
    """Gone for every read; a person still live is marked as left (`left_cause`) in the same step."""
    await conn.execute(
        """UPDATE directory_entries SET deleted_at = $2, updated_at = $2, source = $3, version = version + 1,
                  left_at = COALESCE(left_at, CASE WHEN $4::text IS NULL THEN NULL ELSE $2::timestamptz END),
                  left_cause = COALESCE(left_cause, $4)
            WHERE id = $1""",
        person_id,
        now,
        source,
        left_cause,
    )


async def find(
    conn: Conn,
    *,
    user_name: str | None,
    external_id: str | None,
    employee_id: str | None,
    offset: int,
    limit: int,
) -> tuple[int, list[DirectoryRow]]:
    """(how many match, one page of them): entries not deleted, ordered by creation."""
    where = f"""{_LIVE} AND ($1::text IS NULL OR lower(user_name) = lower($1))
                AND ($2::text IS NULL OR external_id = $2)
                AND ($3::text IS NULL OR lower(employee_id) = lower($3))"""
    total = await conn.fetchval(
        f"SELECT count(*) FROM directory_entries WHERE {where}", user_name, external_id, employee_id
    )
    rows = await conn.fetch(
        f"""SELECT * FROM directory_entries WHERE {where}
             ORDER BY seq LIMIT $4 OFFSET $5""",
        user_name,
        external_id,
        employee_id,
        limit,
        offset,
    )
    return int(total), as_rows(DirectoryRow, rows)


def _like(text: str) -> str:
    """`text` as a literal inside an ILIKE pattern (its wildcards and the escape character escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search(
    conn: Conn,
    *,
    employee_id: str | None,
    q: str | None,
    status: Status | None,
    joined_since: date | None,
    regions: Sequence[str] | None,
    limit: int,
    offset: int,
) -> list[DirectoryRow]:
    """HR's list: entries not deleted, filtered, ordered by display name (then id); with `regions`,
    only entries whose region is one of them (an entry with no region: never)."""
    return as_rows(
        DirectoryRow,
        await conn.fetch(
            f"""SELECT * FROM directory_entries
                 WHERE {_LIVE}
                   AND ($1::text IS NULL OR lower(employee_id) = lower($1))
                   AND ($2::text IS NULL OR display_name ILIKE $2 OR email ILIKE $2
                        OR employee_id ILIKE $2 OR user_name ILIKE $2)
                   AND ($3::text IS NULL OR ($3 = 'live') = (left_at IS NULL))
                   AND ($4::date IS NULL OR COALESCE(start_date, (created_at AT TIME ZONE 'UTC')::date) >= $4)
                   AND ($5::text[] IS NULL OR region = ANY($5))
                 ORDER BY lower(display_name), id LIMIT $6 OFFSET $7""",
            employee_id,
            None if q is None else _like(q),
            status,
            joined_since,
            None if regions is None else list(regions),
            limit,
            offset,
        ),
    )


async def due_to_leave(conn: Conn, today: date, limit: int) -> list[DirectoryRow]:
    """Entries whose termination date has come and who have not left yet, locked (entries another
    transaction holds are skipped: that writer applies the termination date itself)."""
    return as_rows(
        DirectoryRow,
        await conn.fetch(
            f"""SELECT * FROM directory_entries
                 WHERE {_LIVE} AND left_at IS NULL AND termination_date <= $1
                 ORDER BY termination_date, id LIMIT $2 FOR UPDATE SKIP LOCKED""",
            today,
            limit,
        ),
    )


async def managers(conn: Conn, keys: Collection[str]) -> dict[str, str | None]:
    """employee key -> manager's employee key (lower case), for the entries with these keys that are
    live (not deleted, not left)."""
    rows = await conn.fetch(
        f"""SELECT lower(employee_id) AS emp, lower(manager_employee_id) AS manager FROM directory_entries
             WHERE lower(employee_id) = ANY($1::text[]) AND {_LIVE} AND left_at IS NULL""",
        list(keys),
    )
    return {r["emp"]: r["manager"] for r in rows}


async def reports_below(conn: Conn, key: str, depth: int) -> set[str]:
    """The employee keys of everyone up to `depth` levels below `key` in the directory's management
    chains (live entries; a cycle in the data stops at `depth`)."""
    if depth <= 0:
        return set()
    rows = await conn.fetch(
        f"""WITH RECURSIVE below (emp, level) AS (
                SELECT lower(employee_id), 1 FROM directory_entries
                 WHERE lower(manager_employee_id) = $1 AND {_LIVE} AND left_at IS NULL
                UNION
                SELECT lower(d.employee_id), b.level + 1 FROM directory_entries d
                  JOIN below b ON lower(d.manager_employee_id) = b.emp
                 WHERE d.{_LIVE} AND d.left_at IS NULL AND b.level < $2)
            SELECT DISTINCT emp FROM below""",
        key,
        depth,
    )
    return {r["emp"] for r in rows}


# -- across cohorts: enrolments and pairs by employee key -------------------------------------------


async def enrolments(conn: Conn, keys: Collection[str], *, lock: bool = False) -> list[ParticipantRow]:
    """The enrolled participants (every cohort) whose employee key is one of `keys`, oldest first."""
    return as_rows(
        ParticipantRow,
        await conn.fetch(
            f"""SELECT * FROM participants WHERE lower(employee_id) = ANY($1::text[]) AND status = 'enrolled'
                 ORDER BY created_at, id{for_update(lock)}""",
            list(keys),
        ),
    )


@dataclass(frozen=True, slots=True)
class FormedPair:
    pair: PairRow
    mentor_employee_id: str
    mentee_employee_id: str


async def formed_pairs_of(conn: Conn, keys: Collection[str]) -> list[FormedPair]:
    """Formed pairs in which one of the two has an employee key in `keys`, with both employee ids."""
    rows = await conn.fetch(
        """SELECT x.*, m.employee_id AS mentor_employee_id, e.employee_id AS mentee_employee_id
             FROM pairs x JOIN participants m ON m.id = x.mentor_id JOIN participants e ON e.id = x.mentee_id
            WHERE x.status = 'formed'
              AND (lower(m.employee_id) = ANY($1::text[]) OR lower(e.employee_id) = ANY($1::text[]))
            ORDER BY x.cohort_id, x.created_at, x.id""",
        list(keys),
    )
    return [FormedPair(as_row(PairRow, r), r["mentor_employee_id"], r["mentee_employee_id"]) for r in rows]


async def flag_pair(
    conn: Conn, pair_id: uuid.UUID, rule: str, state: str, person_id: uuid.UUID, now: datetime
) -> bool:
    """Records that the pair breaks `rule` in `state`; False when it was already flagged for it."""
    inserted = await conn.fetchval(
        """INSERT INTO pair_flags (pair_id, rule, state, moved_person_id, flagged_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true""",
        pair_id,
        rule,
        state,
        person_id,
        now,
    )
    return bool(inserted)


# -- privacy: erasure, export and retention (docs/privacy.md) ----------------------------------------


async def entries_of(conn: Conn, employee_id: str, *, lock: bool = False) -> list[DirectoryRow]:
    """Every entry with this employee id (compared case-insensitively), deleted ones too: a deleted
    entry keeps its record until the retention job purges it, so an erasure removes it and an export
    shows it. Oldest first."""
    return as_rows(
        DirectoryRow,
        await conn.fetch(
            f"""SELECT * FROM directory_entries WHERE lower(employee_id) = lower($1)
                 ORDER BY seq{for_update(lock)}""",
            employee_id,
        ),
    )


async def erase(conn: Conn, entry_ids: Sequence[uuid.UUID]) -> int:
    """Deletes these entries for good (an erasure); pair flags they raised keep no mover (the
    foreign key sets it to NULL)."""
    status = await conn.execute("DELETE FROM directory_entries WHERE id = ANY($1::uuid[])", list(entry_ids))
    return int(status.split()[-1])


async def forget_manager(conn: Conn, employee_id: str, now: datetime) -> int:
    """Entries (deleted ones too) naming this employee id as manager no longer do: their manager
    becomes "not known" in the column and the stored record, and their version grows (SCIM's ETag
    changes). Returns how many entries changed."""
    status = await conn.execute(
        """UPDATE directory_entries
              SET manager_employee_id = NULL, record = jsonb_set(record, '{manager_employee_id}', 'null'),
                  version = version + 1, updated_at = $2
            WHERE lower(manager_employee_id) = lower($1)""",
        employee_id,
        now,
    )
    return int(status.split()[-1])


async def delete_flags_of(conn: Conn, participant_ids: Sequence[uuid.UUID]) -> int:
    """The flags of these participants' pairs (their state hashes a chain of employee ids that holds
    both people's)."""
    status = await conn.execute(
        """DELETE FROM pair_flags WHERE pair_id IN (
               SELECT id FROM pairs WHERE mentor_id = ANY($1::uuid[]) OR mentee_id = ANY($1::uuid[]))""",
        list(participant_ids),
    )
    return int(status.split()[-1])


async def purge_leavers_before(conn: Conn, before: datetime, limit: int) -> int:
    """Deletes up to `limit` entries of people who left before `before` (not deleted: those have
    their own period). Entries a writer holds are skipped: the next run takes them."""
    status = await conn.execute(
        f"""DELETE FROM directory_entries WHERE id IN (
                SELECT id FROM directory_entries WHERE {_LIVE} AND left_at < $1
                 ORDER BY left_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)""",
        before,
        limit,
    )
    return int(status.split()[-1])


async def purge_deleted_before(conn: Conn, before: datetime, limit: int) -> int:
    """Deletes up to `limit` entries deleted on or before `before` (gone for every read already)."""
    status = await conn.execute(
        """DELETE FROM directory_entries WHERE id IN (
               SELECT id FROM directory_entries WHERE deleted_at <= $1
                ORDER BY deleted_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)""",
        before,
        limit,
    )
    return int(status.split()[-1])


async def delete_flags_ended_before(conn: Conn, before: datetime, limit: int) -> int:
    """Deletes up to `limit` flags of pairs that ended (dissolved, or closed in sessions) before
    `before`: a flag only stops a formed pair being flagged twice for the same chain."""
    status = await conn.execute(
        """DELETE FROM pair_flags WHERE (pair_id, rule, state) IN (
               SELECT f.pair_id, f.rule, f.state FROM pair_flags f JOIN pairs p ON p.id = f.pair_id
                WHERE p.status <> 'formed' AND coalesce(p.ended_at, p.dissolved_at) < $1
                ORDER BY f.flagged_at LIMIT $2 FOR UPDATE OF f SKIP LOCKED)""",
        before,
        limit,
    )
    return int(status.split()[-1])
