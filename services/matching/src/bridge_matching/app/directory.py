"""The company directory's use cases (domain/directory.py says what the directory is).

Every write runs in one transaction that also writes its events to the outbox and applies what the
change means to live programmes (joiners, movers, leavers):

- joiner: `matching.person.joined`;
- mover: the fields HR owns flow into every live enrolment (each gets `matching.participant.updated`),
  `matching.person.moved`, and each active pair that now breaks the management-chain rule gets
  `matching.pair.flagged` (never dissolved silently);
- leaver (deactivated, deleted, or past the termination date): every enrolment withdrawn with the
  reason "left the company" (open proposals cancelled, formed pairs dissolved with
  `left_participant_id`), then `matching.person.left`.

A live enrolment is a participant row with the person's employee id (compared case-insensitively) and
status enrolled, in any cohort. Writes about one employee id are serialised (an advisory lock on the
id), so SCIM and an HRIS file writing the same person at once apply one after the other. A person
erased on request (docs/privacy.md) is never stored again: a write of them raises PersonErased, and a
manager erased on request is stored as "not known".

The interface the SCIM layer (api/scim.py) and the HRIS sync (app/hris_sync.py) call: write_in,
create, replace, delete, get, find, leave_due; HR's reads and enrolment from the directory
(api/directory.py): people, person, enrol_from_directory.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import ValidationError

from bridge_matching.app import participants as enrolment
from bridge_matching.app.participants import invalid, withdraw_in
from bridge_matching.app.privacy import erased_among
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.db import audit, cohorts, directory, participants
from bridge_matching.db.directory import FormedPair, Status
from bridge_matching.db.records import Conn
from bridge_matching.domain.directory import (
    MANAGEMENT_CHAIN,
    Change,
    DirectoryRecord,
    DirectoryRow,
    LeftCause,
    Source,
    chain_breach,
    change_of_stored,
    differs,
    flowing_values,
    has_left,
    left_on,
    missing_for_enrolment,
    overlay,
)
from bridge_matching.domain.events import (
    pair_flagged,
    pair_subject,
    participant_event,
    participant_subject,
    person_joined,
    person_left,
    person_moved,
    person_subject,
)
from bridge_matching.domain.policy import to_engine_policy
from bridge_matching.domain.profile import KEY, PROFILE_FIELDS, ParticipantIn, id_key
from bridge_matching.domain.rows import ParticipantRow
from bridge_shared.auth import scope
from bridge_shared.auth.principal import Principal
from bridge_shared.db.connection import connection, transaction
from bridge_shared.errors import Problem
from bridge_shared.scheduling.clock import Clock

log = logging.getLogger(__name__)

LEFT_REASON = "left the company"
LEAVERS_JOB = "directory-leavers"
# The deepest management-chain exclusion a cohort's policy may ask for (PolicyIn's bound): a change of
# someone's manager can bring a pair within that many levels only through people at most one level
# less below them.
MAX_CHAIN_DEPTH = 10


@dataclass(frozen=True)
class DirectoryEntry:
    """One stored directory entry. `version` grows with every write (SCIM's ETag is W/"<version>")."""

    id: uuid.UUID
    record: DirectoryRecord
    version: int
    created_at: datetime
    updated_at: datetime
    left_at: datetime | None
    left_cause: LeftCause | None
    source: Source


@dataclass(frozen=True)
class Written:
    entry: DirectoryEntry
    change: Change
    created: bool


Conflict = Literal["employee_id", "user_name", "external_id"]


class DirectoryConflict(Exception):
    """Another live entry already has this employee id / user name / external id (SCIM 409 uniqueness)."""

    def __init__(self, field: Conflict) -> None:
        super().__init__(f"another directory entry already has this {field}")
        self.field = field


class DirectoryNotFound(Exception):
    """No such entry (or it was deleted)."""


class VersionMismatch(Exception):
    """The caller's If-Match version is not the stored one (SCIM 412)."""


class PersonErased(Exception):
    """The person (this employee id, compared case-insensitively) was erased on request
    (docs/privacy.md): the directory does not store them again. `erased_on`: the erasure's date
    (ISO). The message names no one, so it can be reported and logged as it is."""

    def __init__(self, erased_on: str) -> None:
        super().__init__(
            f"this person was erased on request on {erased_on}; the directory does not store them again"
        )
        self.erased_on = erased_on


def _entry(row: DirectoryRow) -> DirectoryEntry:
    return DirectoryEntry(
        id=row.id,
        record=DirectoryRecord.model_validate(row.record),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        left_at=row.left_at,
        left_cause=row.left_cause,
        source=row.source,
    )


def _actor(source: Source) -> str:
    """Who did it, in audit entries and as `dissolved_by`: the directory and the channel it came by."""
    return f"directory:{source}"


async def _ensure_unique(
    conn: Conn, record: DirectoryRecord, *, other_than: uuid.UUID | None, employee_id: bool
) -> None:
    checks: list[tuple[Conflict, str | None]] = [
        ("employee_id", record.employee_id if employee_id else None),
        ("user_name", record.user_name),
        ("external_id", record.external_id),
    ]
    for field, value in checks:
        if value is not None and await directory.holder(conn, field, value, other_than=other_than):
            raise DirectoryConflict(field)


async def _unless_erased(rt: MatchingRuntime, conn: Conn, record: DirectoryRecord) -> DirectoryRecord:
    """Refuses a person erased on request (PersonErased), found through the erasure ledger's keyed
    hash as an enrolment is; a manager erased on request is not stored again either: the record is
    kept with its manager "not known". Called under the person's lock, so a write and an erasure of
    the same person apply one after the other."""
    manager = record.manager_employee_id
    erased = await erased_among(conn, rt.settings, [record.employee_id, *([manager] if manager else [])])
    if record.employee_id in erased:
        raise PersonErased(erased[record.employee_id])
    if manager is not None and manager in erased:
        return record.model_copy(update={"manager_employee_id": None})
    return record


# -- the writes --------------------------------------------------------------------------------------


async def write_in(
    rt: MatchingRuntime, conn: Conn, record: DirectoryRecord, *, source: Source, now: datetime
) -> Written:
    """Create or update the entry with `record.employee_id` (case-insensitive) in the caller's
    transaction, with its events and JML effects. Idempotent: writing the same record twice changes
    nothing the second time (no events). Raises DirectoryConflict when the user name or external id
    belongs to another entry, PersonErased for a person erased on request."""
    await directory.lock_people(conn, rt.settings.db_schema, [record.key])
    record = await _unless_erased(rt, conn, record)
    current = await directory.by_employee(conn, record.employee_id, lock=True)
    await _ensure_unique(conn, record, other_than=current.id if current else None, employee_id=False)
    if current is None:
        return await _create_in(rt, conn, record, source, now)
    return await _update_in(rt, conn, current, record, source, now)


async def create(rt: MatchingRuntime, record: DirectoryRecord, *, source: Source) -> DirectoryEntry:
    """A new entry (own transaction). DirectoryConflict when the employee id, user name or external id
    is taken by a live entry; PersonErased for a person erased on request."""
    async with transaction(rt.pool) as conn:
        await directory.lock_people(conn, rt.settings.db_schema, [record.key])
        record = await _unless_erased(rt, conn, record)
        await _ensure_unique(conn, record, other_than=None, employee_id=True)
        written = await _create_in(rt, conn, record, source, rt.clock.now())
    return written.entry


async def replace(
    rt: MatchingRuntime,
    person_id: uuid.UUID,
    record: DirectoryRecord,
    *,
    source: Source,
    if_version: int | None = None,
) -> DirectoryEntry:
    """Replaces the entry's record (own transaction; `active: false` makes a leaver).
    DirectoryNotFound, VersionMismatch, DirectoryConflict, PersonErased (the record's employee id is
    an erased person's)."""
    async with transaction(rt.pool) as conn:
        seen = await directory.get(conn, person_id)
        if seen is None:
            raise DirectoryNotFound
        await directory.lock_people(conn, rt.settings.db_schema, [id_key(seen.employee_id), record.key])
        current = await directory.get(conn, person_id, lock=True)
        if current is None:
            raise DirectoryNotFound
        if if_version is not None and current.version != if_version:
            raise VersionMismatch
        record = await _unless_erased(rt, conn, record)
        await _ensure_unique(conn, record, other_than=current.id, employee_id=True)
        written = await _update_in(rt, conn, current, record, source, rt.clock.now())
    return written.entry


async def delete(rt: MatchingRuntime, person_id: uuid.UUID, *, source: Source) -> None:
    """Removes the entry from the directory (SCIM DELETE: it is gone for GET afterwards). A person
    still active leaves with cause "deleted". DirectoryNotFound."""
    async with transaction(rt.pool) as conn:
        seen = await directory.get(conn, person_id)
        if seen is None:
            raise DirectoryNotFound
        await directory.lock_people(conn, rt.settings.db_schema, [id_key(seen.employee_id)])
        current = await directory.get(conn, person_id, lock=True)
        if current is None:
            raise DirectoryNotFound
        now = rt.clock.now()
        cause: LeftCause | None = "deleted" if current.left_at is None else None
        await directory.delete(conn, person_id, source=source, now=now, left_cause=cause)
        if cause is not None:
            record = DirectoryRecord.model_validate(current.record)
            await _leave_in(rt, conn, current.id, record, {record.key}, cause, source, now, announce=True)


async def _create_in(
    rt: MatchingRuntime, conn: Conn, record: DirectoryRecord, source: Source, now: datetime
) -> Written:
    """A new entry. A live person joins, and their enrolments made before the directory knew them
    take the fields HR owns; a person written as already gone is stored as a leaver, and leaves the
    enrolments they have (person.left only then: nobody saw them join)."""
    cause = has_left(record, now.date())
    row = await directory.insert(conn, record, source=source, now=now, left_cause=cause)
    if cause is not None:
        gone = await _leave_in(rt, conn, row.id, record, {record.key}, cause, source, now, announce=False)
        return Written(_entry(row), Change(joined=False, moved=(), left=cause if gone else None), True)
    await rt.outbox.add(
        conn,
        person_joined(
            row.id,
            department=record.department,
            region=record.region,
            start_date=record.start_date,
            source=source,
            now=now,
        ),
        subject=person_subject(row.id),
        time=now,
    )
    _, managers_changed = await _flow_in(rt, conn, record, {record.key}, now)
    if managers_changed:
        await _flag_broken_pairs(rt, conn, row.id, record.key, source, now)
    return Written(_entry(row), Change(joined=True, moved=(), left=None), True)


async def _update_in(
    rt: MatchingRuntime,
    conn: Conn,
    current: DirectoryRow,
    record: DirectoryRecord,
    source: Source,
    now: datetime,
) -> Written:
    before = DirectoryRecord.model_validate(current.record)
    if before == record:
        return Written(_entry(current), Change(joined=False, moved=(), left=None), False)
    change = change_of_stored(before, current.left_cause, record, now.date())
    left_at, left_cause = current.left_at, current.left_cause
    if change.left is not None:
        left_at, left_cause = now, change.left
    elif change.joined:
        left_at, left_cause = None, None
    row = await directory.update(
        conn, current.id, record, source=source, now=now, left_at=left_at, left_cause=left_cause
    )
    keys = {before.key, record.key}  # an employee id corrected in the directory keeps its enrolments
    if change.left is not None:
        await _leave_in(rt, conn, row.id, record, keys, change.left, source, now, announce=True)
    elif left_cause is None:  # live after the write: a joiner again, or a mover
        if change.joined:
            event = person_joined(
                row.id,
                department=record.department,
                region=record.region,
                start_date=record.start_date,
                source=source,
                now=now,
            )
            await rt.outbox.add(conn, event, subject=person_subject(row.id), time=now)
        # Every flowing field flows (seniority too, which person.moved does not name).
        live, managers_changed = await _flow_in(rt, conn, record, keys, now)
        if change.moved:
            moved = person_moved(
                row.id,
                changed=change.moved,
                department=record.department,
                previous_department=before.department,
                region=record.region,
                participant_ids=[p.id for p in live],
                source=source,
                now=now,
            )
            await rt.outbox.add(conn, moved, subject=person_subject(row.id), time=now)
        if "manager" in change.moved or managers_changed:
            await _flag_broken_pairs(rt, conn, row.id, record.key, source, now)
    return Written(_entry(row), change, False)


# -- what a change means for live programmes ----------------------------------------------------------


async def _flow_in(
    rt: MatchingRuntime, conn: Conn, record: DirectoryRecord, keys: Collection[str], now: datetime
) -> tuple[list[ParticipantRow], bool]:
    """The fields HR owns flow into every live enrolment of the person, each changed one with
    participant.updated, as the profile update path writes it (app/participants.update). Returns the
    live enrolments, and whether the manager of one of them changed."""
    live = await directory.enrolments(conn, keys, lock=True)
    flowing = flowing_values(record)
    manager = flowing.get("manager_employee_id")
    managers_changed = False
    for row in live:
        current = {f: getattr(row, f) for f in (KEY, *PROFILE_FIELDS)}
        if not differs(current, record):
            continue
        try:
            profile = ParticipantIn.model_validate(overlay(current, record))
        except ValidationError as exc:  # a stored profile older than a rule; the rest still flows
            log.warning("directory change not applied to participant %s: %s", row.id, exc)
            continue
        if manager is not None and id_key(manager) != id_key(row.manager_employee_id or ""):
            managers_changed = True
        updated = await participants.update_profile(conn, row.id, profile, now)
        await rt.outbox.add(
            conn, participant_event(updated, inserted=False), subject=participant_subject(updated), time=now
        )
    return live, managers_changed


async def _leave_in(
    rt: MatchingRuntime,
    conn: Conn,
    person_id: uuid.UUID,
    record: DirectoryRecord,
    keys: Collection[str],
    cause: LeftCause,
    source: Source,
    now: datetime,
    *,
    announce: bool,
) -> list[uuid.UUID]:
    """A leaver: every live enrolment is withdrawn as a withdrawal does it (app/participants.withdraw_in:
    proposals cancelled, pairs dissolved naming them as the one who left), each with an audit entry in
    its cohort, then person.left (unless `announce` is false and there was nothing to withdraw).
    Returns the withdrawn participants' ids."""
    actor = _actor(source)
    withdrawn: list[uuid.UUID] = []
    for row in await directory.enrolments(conn, keys, lock=True):
        await withdraw_in(conn, rt.outbox, row, LEFT_REASON, actor, now, left_company=True)
        await audit.add(
            conn,
            row.cohort_id,
            actor,
            "participant.left",
            LEFT_REASON,
            {"participant_id": str(row.id), "person_id": str(person_id), "cause": cause},
            now,
        )
        withdrawn.append(row.id)
    if announce or withdrawn:
        event = person_left(
            person_id,
            participant_ids=withdrawn,
            cause=cause,
            left_on=left_on(record, now.date()),
            source=source,
            now=now,
        )
        await rt.outbox.add(conn, event, subject=person_subject(person_id), time=now)
    return withdrawn


async def _manager_map(
    conn: Conn, cohort_id: uuid.UUID, starts: Collection[str], depth: int
) -> dict[str, str | None]:
    """employee key -> manager's key for the chains above `starts`, up to `depth` levels: the
    directory's live entries over the cohort's participants (a manager the directory does not know
    leaves the participant's own in place)."""
    own = {
        id_key(emp): None if manager is None else id_key(manager)
        for emp, manager in (await participants.managers(conn, cohort_id)).items()
    }
    known: dict[str, str | None] = {}
    asked: set[str] = set()
    frontier = set(starts)
    for _ in range(depth):
        need = frontier - asked
        if need:
            found = await directory.managers(conn, need)
            known.update({k: m for k, m in found.items() if m is not None})
            asked |= need
        frontier = {m for k in frontier if (m := known.get(k, own.get(k))) is not None}
        if not frontier:
            break
    return {**own, **known}


async def _flag_broken_pairs(
    rt: MatchingRuntime, conn: Conn, person_id: uuid.UUID, key: str, source: Source, now: datetime
) -> None:
    """After a change of manager: every formed pair in which the person, or someone whose chain runs
    through them, is one of the two is checked against its cohort's management-chain rule. A pair that
    now breaks it is flagged to HR (pair.flagged and an audit entry), once for the same chain, and
    stays formed."""
    people = {key} | await directory.reports_below(conn, key, MAX_CHAIN_DEPTH - 1)
    by_cohort: dict[uuid.UUID, list[FormedPair]] = defaultdict(list)
    for formed in await directory.formed_pairs_of(conn, people):
        by_cohort[formed.pair.cohort_id].append(formed)
    actor = _actor(source)
    for cohort_id, pairs in by_cohort.items():
        cohort = await cohorts.get(conn, cohort_id)
        if cohort is None:
            continue
        depth = to_engine_policy(cohort.policy).management_exclusion_depth
        if depth <= 0:
            continue
        starts = {id_key(e) for f in pairs for e in (f.mentor_employee_id, f.mentee_employee_id)}
        manager_of = await _manager_map(conn, cohort_id, starts, depth)
        for f in pairs:
            breach = chain_breach(
                id_key(f.mentor_employee_id), id_key(f.mentee_employee_id), manager_of, depth
            )
            if breach is None:
                continue
            pair = f.pair
            if not await directory.flag_pair(conn, pair.id, MANAGEMENT_CHAIN, breach.state, person_id, now):
                continue
            reason = breach.reason()
            event = pair_flagged(pair, cohort, moved_person_id=person_id, reason=reason, now=now)
            await rt.outbox.add(conn, event, subject=pair_subject(pair), time=now)
            await audit.add(
                conn,
                cohort_id,
                actor,
                "pair.flag",
                reason,
                {
                    "pair_id": str(pair.id),
                    "mentor_id": str(pair.mentor_id),
                    "mentee_id": str(pair.mentee_id),
                    "rule": MANAGEMENT_CHAIN,
                    "moved_person_id": str(person_id),
                },
                now,
            )


# -- reads ---------------------------------------------------------------------------------------------


async def get(rt: MatchingRuntime, person_id: uuid.UUID) -> DirectoryEntry:
    """DirectoryNotFound when absent or deleted."""
    async with connection(rt.pool) as conn:
        row = await directory.get(conn, person_id)
    if row is None:
        raise DirectoryNotFound
    return _entry(row)


async def find(
    rt: MatchingRuntime,
    *,
    user_name: str | None = None,
    external_id: str | None = None,
    employee_id: str | None = None,
    start_index: int = 1,
    count: int = 100,
) -> tuple[int, list[DirectoryEntry]]:
    """Live entries (not deleted), ordered by creation; user name and employee id compared
    case-insensitively, external id exactly. Returns (total matching, the page). `start_index` is
    1-based (SCIM)."""
    async with connection(rt.pool) as conn:
        total, rows = await directory.find(
            conn,
            user_name=user_name,
            external_id=external_id,
            employee_id=employee_id,
            offset=max(start_index, 1) - 1,
            limit=max(count, 0),
        )
    return total, [_entry(r) for r in rows]


# -- the termination-date pass ----------------------------------------------------------------------


async def leave_due_in(rt: MatchingRuntime, conn: Conn, today: date, now: datetime, limit: int) -> int:
    """One batch of the pass, in the caller's transaction: up to `limit` people whose termination date
    has come leave (cause "terminated", source "scheduler"). Returns how many left."""
    due = await directory.due_to_leave(conn, today, limit)
    for row in due:
        record = DirectoryRecord.model_validate(row.record)
        await directory.mark_left(conn, row.id, "terminated", source="scheduler", now=now)
        await _leave_in(rt, conn, row.id, record, {record.key}, "terminated", "scheduler", now, announce=True)
    return len(due)


async def leave_due(rt: MatchingRuntime, today: date) -> int:
    """The scheduled pass: everyone whose termination date has come and who has not left yet leaves
    (cause "terminated", source "scheduler"). Returns how many left."""
    batch = rt.settings.directory_leavers_batch_size
    total = 0
    while True:
        async with transaction(rt.pool) as conn:
            n = await leave_due_in(rt, conn, today, rt.clock.now(), batch)
        total += n
        if n < batch:
            return total


def leavers_job(rt: MatchingRuntime) -> Callable[[Conn, Clock], Awaitable[int]]:
    """One batch of the pass in the shape `bridge_shared.scheduling.singleton` runs (one instance per
    tick; its advisory lock and the batch share the transaction)."""

    async def job(conn: Conn, clock: Clock) -> int:
        now = clock.now()
        n = await leave_due_in(rt, conn, now.date(), now, rt.settings.directory_leavers_batch_size)
        if n:
            log.info("directory: %d people left on their termination date", n)
        return n

    return job


# -- HR: reading the directory, enrolling from it ------------------------------------------------------


def _ensure_reader(principal: Principal) -> None:
    if not scope.is_hr(principal):
        raise Problem(403, "Forbidden", "This action needs one of the roles: hr_admin, hr_regional, service.")


async def people(
    rt: MatchingRuntime,
    principal: Principal,
    *,
    employee_id: str | None,
    q: str | None,
    status: Status | None,
    joined_since: date | None,
    limit: int,
    offset: int,
) -> list[DirectoryEntry]:
    """HR's list: regional HR see the entries whose region is one of theirs (entries without a region:
    hr_admin and service only), as for participants (docs/access.md rule 2)."""
    _ensure_reader(principal)
    regions = scope.region_filter(principal)
    async with connection(rt.pool) as conn:
        rows = await directory.search(
            conn,
            employee_id=employee_id,
            q=q,
            status=status,
            joined_since=joined_since,
            regions=regions,
            limit=limit,
            offset=offset,
        )
    return [_entry(r) for r in rows]


async def person(rt: MatchingRuntime, principal: Principal, person_id: uuid.UUID) -> DirectoryEntry:
    """One entry; 404 when absent, deleted, or outside the caller's regions."""
    _ensure_reader(principal)
    async with connection(rt.pool) as conn:
        row = await directory.get(conn, person_id)
    if row is None:
        raise Problem(404, "Person not found", "The directory has no person with this id in your regions.")
    entry = _entry(row)
    if not scope.sees_region(principal, entry.record.region):
        raise Problem(404, "Person not found", "The directory has no person with this id in your regions.")
    return entry


def _refuse_leaver(entry: DirectoryEntry, today: date) -> None:
    cause = entry.left_cause or has_left(entry.record, today)
    if cause is not None:
        raise Problem(
            409,
            "Person left",
            "The company directory says this person has left the company; they cannot be enrolled.",
            left_cause=cause,
        )


def _errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "message": e["msg"], "type": e["type"]}
        for e in exc.errors()
    ]


async def enrol_from_directory(
    rt: MatchingRuntime,
    principal: Principal,
    cohort_id: uuid.UUID,
    person_id: uuid.UUID,
    own: dict[str, Any],  # Any: the participant's own fields as sent (role, languages, ...)
) -> enrolment.Enrolled:
    """Enrols a person of the directory: the fields HR owns come from their entry, the rest (`own`:
    role, languages, availability, skills, ...) from the request; the time zone and locale from the
    request, else from the directory. 404 for a person not visible, 409 for a leaver, 422 naming each
    field enrolment needs that neither has. The enrolment itself is app/participants.enrol's."""
    entry = await person(rt, principal, person_id)
    _refuse_leaver(entry, rt.clock.now().date())
    record = entry.record
    missing = missing_for_enrolment(record)
    timezone = own.get("timezone") or record.timezone
    if timezone is None:
        missing.append("timezone")
    if missing:
        raise invalid(
            [
                {
                    "field": f,
                    "message": f"the company directory has no {f} for this person; enrol them with "
                    "POST /cohorts/{cohort_id}/participants, or ask for the directory to be completed",
                    "type": "missing_in_directory",
                }
                for f in missing
            ]
        )
    fields = {k: v for k, v in own.items() if v is not None}
    fields["timezone"] = timezone
    if "locale" not in fields and record.locale is not None:
        fields["locale"] = record.locale
    try:
        profile = ParticipantIn.model_validate(overlay({**fields, KEY: record.employee_id}, record))
    except ValidationError as exc:
        raise invalid(_errors(exc)) from exc
    return await enrolment.enrol(rt, principal, cohort_id, profile)
