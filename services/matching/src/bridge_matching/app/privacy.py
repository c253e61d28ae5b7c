"""Privacy (docs/privacy.md): matching coordinates a person's erasure (Art. 17) and export (Art. 15/20)
across the services, and applies its own retention rules.

- Erasure: one transaction destroys the person's keys in the key vault (so every sealed field about
  them, on every topic, can no longer be opened), dissolves their pairs, cancels their proposals and
  drafts, anonymises their participant rows, removes them from other people's rows and text, writes
  the events (`PairDissolvedV2` etc., their sealed fields erased at write, then `ErasureRequestedV1`)
  and records matching's own answer. The ledger keeps only a keyed hash of the employee id.
- The other services answer on their privacy topics (handlers/privacy.py -> `record_answer`,
  `store_export_part`); an erasure is complete once all have answered.
- Export: matching's section is computed at request time, the others' parts arrive as events.
- The company directory (app/directory.py) is matching's too: an erasure deletes the person's entries
  (and refuses to store them again), an export shows them, retention purges leavers' and deleted
  entries and clears HRIS delivery reports. A person known only to the directory (never enrolled) is
  erased or exported by matching alone: the other services know people only by participant ids.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bridge_matching.app import circles as circle_steps
from bridge_matching.app import proposals as proposal_steps
from bridge_matching.app.pairs import dissolve_in
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.app.state import suggestion_cache
from bridge_matching.db import circles as circles_db
from bridge_matching.db import cohorts, hris_files, pairs, privacy, proposals
from bridge_matching.db import directory as directory_db
from bridge_matching.db.records import Conn
from bridge_matching.domain.directory import DirectoryRow
from bridge_matching.domain.events import (
    erasure_requested,
    export_requested,
    participant_subject,
    participant_withdrawn,
)
from bridge_matching.domain.privacy import (
    SERVICES,
    Identity,
    directory_view,
    export_status,
    identity_of,
    iso,
    jsonable,
    like_patterns,
    scrub,
    scrub_actor,
    subject_hash,
    summary_html,
)
from bridge_matching.domain.profile import id_key
from bridge_matching.domain.rows import ErasureAnswerRow, ErasureRow, ExportRow, ParticipantRow
from bridge_matching.settings import MatchingSettings
from bridge_shared.auth import scope
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.contracts.privacy import ANSWERING_SERVICES, ErasureCompleted, ExportPart
from bridge_shared.db.connection import connection, transaction
from bridge_shared.errors import Problem
from bridge_shared.outbox.writer import Outbox
from bridge_shared.privacy.answers import join_parts
from bridge_shared.privacy.vault import VAULT
from bridge_shared.scheduling.clock import Clock

log = logging.getLogger(__name__)

ERASURE_REASON = "participant erased on request"
ERASURE_ACTOR = "erasure"
RETENTION_JOB = "privacy-retention"

# -- who may ---------------------------------------------------------------------------------------


def ensure_requester(principal: Principal) -> None:
    """Erasures and exports for someone else are a global act: hr_admin (every region) or the privacy
    officer. Regional HR and service tokens get 403."""
    if principal.has(Role.PRIVACY_OFFICER) or scope.is_admin(principal):
        return
    if scope.is_regional(principal):
        raise Problem(
            403,
            "Forbidden",
            "An erasure or export covers a person in every cohort and region: it needs hr_admin "
            "(every region) or privacy_officer, not regional HR.",
        )
    raise Problem(403, "Forbidden", "This action needs one of the roles: hr_admin, privacy_officer.")


def ensure_reader(principal: Principal) -> None:
    """Status reads: the requesters, and service tokens (read-only)."""
    if principal.has(Role.SERVICE):
        return
    ensure_requester(principal)


def _hash(settings: MatchingSettings, employee_id: str) -> str:
    return subject_hash(settings.pepper(), employee_id)


def erased_on(row: ErasureRow) -> str:
    return row.requested_at.date().isoformat()


async def refuse_if_erased(conn: Conn, settings: MatchingSettings, employee_id: str) -> None:
    """Re-enrolment of an erased person is refused (409), found through the keyed hash."""
    row = await privacy.erasure_by_hash(conn, _hash(settings, employee_id))
    if row is not None:
        raise Problem(
            409,
            "Person erased",
            f"This person was erased on request on {erased_on(row)}; they cannot be enrolled again.",
            erased_on=erased_on(row),
        )


async def erased_among(conn: Conn, settings: MatchingSettings, employee_ids: Sequence[str]) -> dict[str, str]:
    """employee id -> the date it was erased, for those of `employee_ids` in the ledger."""
    by_hash = {_hash(settings, e): e for e in set(employee_ids)}
    found = await privacy.erasures_by_hashes(conn, list(by_hash))
    return {by_hash[r.subject_hash]: erased_on(r) for r in found}


async def erased_since_snapshot(conn: Conn, participant_ids: Sequence[uuid.UUID]) -> bool:
    """For a job that read people before it writes (a matching run): whether one was erased meanwhile,
    so its result (explanations naming them) must not be stored."""
    return await privacy.any_erased(conn, participant_ids)


# -- erasure ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErasureView:
    row: ErasureRow
    answers: list[ErasureAnswerRow]

    def body(self) -> dict[str, Any]:  # Any: the status document (JSON)
        r = self.row
        services: dict[str, Any] = {s: None for s in SERVICES}
        if r.matching_completed_at is not None:
            services["matching"] = {"completed_at": iso(r.matching_completed_at), "erased": r.matching_erased}
        for a in self.answers:
            if a.service in services:
                services[a.service] = {"completed_at": iso(a.completed_at), "erased": a.erased}
        return {
            "id": str(r.id),
            "status": "completed" if r.completed_at is not None else "in_progress",
            "services": services,
            "requested_at": iso(r.requested_at),
            "completed_at": iso(r.completed_at),
        }


async def request_erasure(
    rt: MatchingRuntime, principal: Principal, employee_id: str
) -> tuple[ErasureView, bool]:
    """Erases the person everywhere in matching and asks the other services to; (status, new).
    Asking again for the same person returns the existing erasure."""
    ensure_requester(principal)
    h = _hash(rt.settings, employee_id)
    async with transaction(rt.pool) as conn:
        # One erasure at a time, against HRIS reports being written (db/privacy.lock_erasures); then
        # the person, as the directory's writers lock them: a SCIM or HRIS write of them waits for
        # the erasure and finds it in the ledger.
        await privacy.lock_erasures(conn, rt.settings.db_schema)
        await directory_db.lock_people(conn, rt.settings.db_schema, [id_key(employee_id)])
        existing = await privacy.erasure_by_hash(conn, h)
        people = [] if existing else await privacy.participants_of(conn, employee_id)
        if people:
            # Lock order as elsewhere: cohorts, then their rows. A matching run or an import that
            # finishes in one of these cohorts waits for the erasure, then sees it (it checks).
            for cohort_id in sorted({p.cohort_id for p in people}):
                await cohorts.get(conn, cohort_id, lock=True)
            people = await privacy.participants_of(conn, employee_id, lock=True)
        entries = [] if existing else await directory_db.entries_of(conn, employee_id, lock=True)
        if not people and not entries:
            # Someone may have erased them while we waited for their rows.
            existing = existing or await privacy.erasure_by_hash(conn, h)
            if existing is None:
                raise Problem(
                    404, "Person not found", "No participant or directory entry has this employee id."
                )
            return ErasureView(existing, await privacy.answers(conn, [existing.id])), False
        now = rt.clock.now()
        row = await privacy.insert_erasure(
            conn, h, [p.id for p in people], [p.cohort_id for p in people], principal.subject, now
        )
        if row is None:  # a concurrent request inserted it first
            raise Problem(409, "Erasure in progress", "Another request is erasing this person; ask again.")
        erased = await erase_in(conn, rt.outbox, row, people, employee_id, now, entries=entries)
        await privacy.delete_exports_of(conn, h)
        await privacy.record_matching_answer(conn, row.id, erased, now)
        if not people:
            # Known only to the directory: the other services know people by the participant ids of
            # enrolments, so they hold nothing about them and are not asked.
            await privacy.complete_alone(conn, row.id, now)
        row = await privacy.get_erasure(conn, row.id)
        if row is None:
            raise LookupError("the erasure row vanished in its own transaction")
    for cohort_id in {p.cohort_id for p in people}:
        # The suggestions' in-memory index still holds the person's profile (never served: the
        # cohort changed); drop it now rather than at the cohort's next suggestion.
        suggestion_cache(rt).forget(cohort_id)
    log.info("erasure %s: matching erased %s", row.id, erased)
    return ErasureView(row, []), True


async def erase_in(
    conn: Conn,
    outbox: Outbox,
    erasure: ErasureRow,
    people: list[ParticipantRow],
    employee_id: str,
    now: datetime,
    *,
    entries: Sequence[DirectoryRow] = (),
) -> dict[str, int]:
    """In the caller's transaction: everything matching holds about the person is erased or
    anonymised, the events written; returns counts by kind. `entries`: their directory entries
    (deleted ones too), deleted for good; the other entries no longer name them as manager."""
    counts: Counter[str] = Counter()
    ids = [p.id for p in people]
    identity = identity_of(employee_id, people, entries)
    # Keys first: every event written below seals the person's fields as erased.
    counts["keys_destroyed"] = await VAULT.destroy(conn, [str(i) for i in ids]) if ids else 0
    for person in people:
        for proposal in await proposals.pending_with(conn, person.id):
            await proposal_steps.cancel_in(
                conn, outbox, proposal, person.id, ERASURE_REASON, now, cause="erased"
            )
            counts["proposals_cancelled"] += 1
        for pair in await pairs.formed_with(conn, person.id):
            await dissolve_in(conn, outbox, pair, ERASURE_REASON, ERASURE_ACTOR, now)
            counts["pairs_dissolved"] += 1
        # Their place in a proposed circle is freed (refilled), their membership of a formed one ends.
        counts["circles_left"] += await circle_steps.release_in(conn, outbox, person, now, cause="erased")
        if person.status == "enrolled":
            await outbox.add(
                conn, participant_withdrawn(person, None), subject=participant_subject(person), time=now
            )
    counts["draft_pairs_removed"] = await privacy.remove_from_drafts(conn, ids)
    counts["draft_circle_places_removed"] = await circles_db.remove_from_drafts(conn, ids)
    counts["participants_anonymised"] = await privacy.anonymise(conn, ids, now)
    counts["references_removed"] = await privacy.forget_references(conn, identity.employee_ids, None)
    # The directory: their entries go (a pair flag they raised keeps no mover), the flags of their
    # pairs go (a flag's state hashes both people's employee ids), others' entries drop them as manager.
    counts["pair_flags_deleted"] = await directory_db.delete_flags_of(conn, ids)
    counts["directory_entries_deleted"] = await directory_db.erase(conn, [e.id for e in entries])
    counts["directory_references_removed"] = await directory_db.forget_manager(conn, employee_id, now)
    # Where people knew them (their cohorts) every word of their name goes; elsewhere (an HR actor,
    # a stray mention) their full name, e-mail and employee id.
    counts["texts_redacted"] = await scrub_tables(conn, identity, sorted({p.cohort_id for p in people}))
    counts["texts_redacted"] += await scrub_tables(conn, identity.exact(), None)
    counts["hr_contacts_erased"] = await privacy.erase_hr_contact(conn, identity.emails)
    if ids:  # the other services know people only by these ids
        await outbox.add(
            conn,
            erasure_requested(erasure.id, ids, [p.cohort_id for p in people], now),
            subject=f"erasure/{erasure.id}",
            time=now,
        )
    return {k: counts[k] for k in sorted(counts)}


async def scrub_tables(conn: Conn, identity: Identity, cohort_ids: Sequence[uuid.UUID] | None) -> int:
    """Redacts the person from every text, document and actor column of matching (in `cohort_ids`, or
    everywhere); returns how many rows changed."""
    changed = 0
    patterns = like_patterns(identity)
    for table in (*privacy.TEXT_TABLES, *circles_db.TEXT_TABLES):
        for row in await privacy.rows_naming(conn, table, cohort_ids, patterns, identity.employee_ids):
            values: dict[str, Any] = {}  # Any: the columns' new values
            for c in (*table.texts, *table.documents):
                new = scrub(row[c], identity)
                if new != row[c]:
                    values[c] = new
            for c in table.actors:
                new = scrub_actor(row[c], identity)
                if new != row[c]:
                    values[c] = new
            if values:
                await privacy.update_row(conn, table, row[table.key], values)
                changed += 1
    return changed


async def get_erasure(rt: MatchingRuntime, principal: Principal, erasure_id: uuid.UUID) -> ErasureView:
    ensure_reader(principal)
    async with connection(rt.pool) as conn:
        row = await privacy.get_erasure(conn, erasure_id)
        if row is None:
            raise Problem(404, "Erasure not found")
        return ErasureView(row, await privacy.answers(conn, [row.id]))


async def list_erasures(
    rt: MatchingRuntime, principal: Principal, limit: int, offset: int
) -> list[ErasureView]:
    ensure_reader(principal)
    async with connection(rt.pool) as conn:
        rows = await privacy.page_erasures(conn, limit, offset)
        answers = await privacy.answers(conn, [r.id for r in rows])
    return [ErasureView(r, [a for a in answers if a.erasure_id == r.id]) for r in rows]


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def record_answer(rt: MatchingRuntime, conn: Conn, p: ErasureCompleted) -> None:
    """A service confirmed an erasure (in the consumer's transaction); the erasure is complete once
    every answering service has. Answers to erasures this instance does not know are ignored."""
    erasure_id = _uuid(p.erasure_id)
    if erasure_id is None or p.service not in ANSWERING_SERVICES:
        return
    if await privacy.get_erasure(conn, erasure_id, lock=True) is None:
        return
    await privacy.record_answer(conn, erasure_id, p.service, p.completed_at, dict(p.erased))
    if await privacy.complete_if_answered(conn, erasure_id, ANSWERING_SERVICES, rt.clock.now()):
        log.info("erasure %s completed: every service answered", erasure_id)


# -- export ----------------------------------------------------------------------------------------


async def _matching_section(
    conn: Conn, people: list[ParticipantRow], employee_id: str, entries: Sequence[DirectoryRow] = ()
) -> dict[str, Any]:
    ids = [p.id for p in people]
    cohorts = sorted({p.cohort_id for p in people})
    enrolments = [dataclasses.asdict(p) for p in people]
    pair_rows = await privacy.pairs_of(conn, ids)
    circle_rows = await circles_db.of_participants(conn, ids)
    proposal_rows = await privacy.proposals_of(conn, ids)
    # Audit entries name a person by participant id, employee id, or directory entry id (a leaver's).
    audit_rows = await privacy.audit_about(conn, cohorts, [*ids, *(e.id for e in entries)], employee_id)
    hris_rows = await hris_files.errors_about(conn, employee_id)
    formed = sum(1 for r in pair_rows if r["status"] == "formed")
    active = sum(1 for p in people if p.status == "enrolled")
    summary = [
        f"Enrolled in {len(people)} cohort(s); {active} still active.",
        f"{len(pair_rows)} mentoring pair(s), {formed} of them active.",
        f"{len(proposal_rows)} match proposal(s).",
        f"Invited to {len(circle_rows)} mentoring circle(s).",
        f"{len(audit_rows)} HR audit entr{'y' if len(audit_rows) == 1 else 'ies'} about you.",
        f"{len(entries)} company directory entr{'y' if len(entries) == 1 else 'ies'} about you "
        "(what the identity provider and HR's HRIS files said).",
        f"{len(hris_rows)} rejected row(s) of HRIS files naming you.",
    ]
    section = {
        "service": "matching",
        "enrolments": enrolments,
        "pairs": pair_rows,
        "proposals": proposal_rows,
        "circles": circle_rows,
        "audit_entries": audit_rows,
        "directory": [directory_view(e) for e in entries],
        "hris_rejected_rows": hris_rows,
        "summary": summary,
    }
    out: dict[str, Any] = jsonable(section)
    return out


async def request_export(
    rt: MatchingRuntime, principal: Principal, employee_id: str, *, own: bool
) -> ExportRow:
    """Starts an export: matching's section now, `ExportRequestedV1` for the other services. `own`:
    the person asks for themself (their token's subject)."""
    if own:
        if Role.PARTICIPANT not in principal.roles:
            raise Problem(403, "Forbidden", "Only a participant can export their own data here.")
    else:
        ensure_requester(principal)
    h = _hash(rt.settings, employee_id)
    async with transaction(rt.pool) as conn:
        people = await privacy.participants_of(conn, employee_id)
        entries = await directory_db.entries_of(conn, employee_id)
        if not people and not entries:
            erased = await privacy.erasure_by_hash(conn, h)
            detail = (
                f"This person was erased on request on {erased_on(erased)}; nothing is held about them."
                if erased
                else "No participant or directory entry has this employee id."
            )
            raise Problem(404, "Person not found", detail)
        now = rt.clock.now()
        # Who they are now: their latest enrolment, else their latest directory entry.
        latest = (
            (people[-1].display_name, people[-1].email)
            if people
            else (str(entries[-1].record.get("display_name")), str(entries[-1].record.get("email")))
        )
        person = {
            "employee_id": employee_id,
            "display_name": latest[0],
            "email": latest[1],
            "participant_ids": [str(p.id) for p in people],
        }
        section = await _matching_section(conn, people, employee_id, entries)
        row = await privacy.insert_export(conn, uuid.uuid4(), h, [p.id for p in people], person, section, now)
        if people:  # the other services know people only by their participant ids
            await rt.outbox.add(
                conn, export_requested(row.id, row.participant_ids, now), subject=f"export/{row.id}", time=now
            )
    return row


async def _visible_export(
    conn: Conn, settings: MatchingSettings, principal: Principal, export_id: uuid.UUID, *, own: bool
) -> ExportRow:
    row = await privacy.get_export(conn, export_id)
    if own:
        if Role.PARTICIPANT not in principal.roles:
            raise Problem(403, "Forbidden", "Only a participant can read their own export here.")
        if row is None or row.subject_hash != _hash(settings, principal.subject):
            raise Problem(404, "Export not found")  # someone else's export is not there for you
    else:
        ensure_requester(principal)
    if row is None:
        raise Problem(404, "Export not found")
    return row


async def get_export(
    rt: MatchingRuntime, principal: Principal, export_id: uuid.UUID, *, own: bool
) -> dict[str, Any]:  # Any: the export document (JSON)
    """`{"status": "pending", "answered": [...]}` until every service's parts are in, then the document."""
    async with connection(rt.pool) as conn:
        row = await _visible_export(conn, rt.settings, principal, export_id, own=own)
        part_rows = await privacy.parts(conn, export_id)
    by_service: dict[str, dict[int, dict[str, Any]]] = {}
    expected: dict[str, int] = {}
    for part in part_rows:
        by_service.setdefault(part.service, {})[part.chunk] = part.data
        expected[part.service] = part.chunks
    answered = sorted(
        s for s, chunks in by_service.items() if s in ANSWERING_SERVICES and len(chunks) >= expected[s]
    )
    if not row.participant_ids:
        # Known only to matching's directory: the other services were not asked (they know people
        # by participant ids) and hold nothing about them.
        answered = list(ANSWERING_SERVICES)
    if export_status(answered) != "complete":
        return {"export_id": str(row.id), "status": "pending", "answered": ["matching", *answered]}
    services: dict[str, Any] = {"matching": row.matching_section}
    for s in ANSWERING_SERVICES:
        chunks = by_service.get(s, {})
        services[s] = (
            join_parts([chunks[i] for i in sorted(chunks)]) if chunks else {"service": s, "summary": []}
        )
    return {
        "export_id": str(row.id),
        "generated_at": iso(max([row.requested_at, *(p.received_at for p in part_rows)])),
        "status": "complete",
        "person": row.person,
        "services": services,
    }


async def export_summary(
    rt: MatchingRuntime, principal: Principal, export_id: uuid.UUID, *, own: bool
) -> str:
    document = await get_export(rt, principal, export_id, own=own)
    if document["status"] != "complete":
        raise Problem(
            409,
            "Export not complete",
            "Not every service has sent its part yet; ask again later.",
            answered=document["answered"],
        )
    return summary_html(document)


async def store_export_part(rt: MatchingRuntime, conn: Conn, p: ExportPart) -> None:
    """A service's part of an export (opened by the consumer), stored once; parts of exports this
    instance does not hold (someone else's, erased, expired) are ignored."""
    export_id = _uuid(p.export_id)
    if export_id is None or p.service not in ANSWERING_SERVICES:
        return
    await privacy.store_part(conn, export_id, p.service, p.chunk, p.chunks, dict(p.data), rt.clock.now())


# -- retention -------------------------------------------------------------------------------------


async def apply_retention(conn: Conn, settings: MatchingSettings, now: datetime) -> dict[str, int]:
    """One bounded pass of every retention rule, in the caller's transaction; counts by kind. The
    erasure ledger stays: it holds only keyed hashes and participant ids, and is what refuses to
    re-enrol an erased person."""
    batch = settings.retention_batch_size

    def before(days: int) -> datetime:
        return now - timedelta(days=days)

    counts = {
        "audit_entries_deleted": await privacy.delete_audit_before(
            conn, before(settings.retention_audit_days), batch
        ),
        "import_reports_cleared": await privacy.clear_import_reports_before(
            conn, before(settings.retention_import_reports_days), batch
        ),
        "exports_deleted": await privacy.delete_exports_before(
            conn, before(settings.retention_exports_days), batch
        ),
        # The company directory: leavers' entries, deleted entries, flags of pairs that ended, and
        # HRIS delivery reports (their rows; the deliveries stay, so a file is still applied once).
        "directory_leavers_purged": await directory_db.purge_leavers_before(
            conn, before(settings.retention_directory_leavers_days), batch
        ),
        "directory_deleted_purged": await directory_db.purge_deleted_before(
            conn, before(settings.retention_directory_deleted_days), batch
        ),
        "pair_flags_deleted": await directory_db.delete_flags_ended_before(
            conn, before(settings.retention_directory_leavers_days), batch
        ),
        "hris_reports_cleared": await hris_files.clear_reports_before(
            conn, before(settings.retention_hris_reports_days), batch, now
        ),
    }
    withdrawn = await privacy.withdrawn_before(conn, before(settings.retention_withdrawn_days), batch)
    by_cohort: dict[uuid.UUID, list[ParticipantRow]] = {}
    for p in withdrawn:
        by_cohort.setdefault(p.cohort_id, []).append(p)
    for cohort_id, people in by_cohort.items():
        identity = Identity(
            employee_ids=tuple(sorted({p.employee_id for p in people})),
            names=tuple(sorted({p.display_name for p in people})),
            emails=tuple(sorted({p.email for p in people})),
        )
        await privacy.anonymise(conn, [p.id for p in people], now)
        await privacy.forget_references(conn, identity.employee_ids, [cohort_id])
        await scrub_tables(conn, identity, [cohort_id])
    counts["withdrawn_anonymised"] = len(withdrawn)
    return counts


def retention_job(settings: MatchingSettings) -> Callable[[Conn, Clock], Awaitable[dict[str, int]]]:
    """The retention tick in the shape `bridge_shared.scheduling.singleton` runs."""

    async def job(conn: Conn, clock: Clock) -> dict[str, int]:
        counts = await apply_retention(conn, settings, clock.now())
        log.info("retention: %s", ", ".join(f"{k}={v}" for k, v in counts.items()))
        return counts

    return job
