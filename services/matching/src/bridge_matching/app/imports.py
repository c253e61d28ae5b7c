"""HRIS imports as leased jobs: HR uploads a CSV (a queued job); a job runner claims it, validates the file
in a worker thread, and stores every change in one transaction: COPY into a staging table, one set-based
upsert, the participant events written to the outbox in bulk, the job row updated with the report.

A failure leaves stored data as it was; rejected rows never touch the stored participant with the same
employee id. A job taken over after its owner stopped runs again from the stored CSV: the upsert is
idempotent and the result is written only by the instance that still holds the lease.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from bridge_matching.app.access import ensure_phase, managed_cohort, visible_cohort
from bridge_matching.app.jobs import claim, heartbeat, job_runner, release
from bridge_matching.app.privacy import erased_among
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.db import cohorts, import_jobs, leases, participants
from bridge_matching.db.leases import JobTable
from bridge_matching.db.records import Conn
from bridge_matching.domain.csv_import import DELIMITER_NAMES, FileError, Parsed, RowError, parse_csv
from bridge_matching.domain.events import participant_event, participant_subject
from bridge_matching.domain.phases import ENROLMENT_PHASES
from bridge_matching.domain.rows import ImportJobRow
from bridge_shared.auth import scope
from bridge_shared.auth.principal import Principal
from bridge_shared.db.connection import connection, transaction
from bridge_shared.errors import Problem
from bridge_shared.events.registry import EventPayload
from bridge_shared.outbox.writer import Outbox
from bridge_shared.scheduling.clock import Clock

log = logging.getLogger(__name__)
MAX_ERRORS_IN_REPORT = 10_000
TABLE: JobTable = "import_jobs"


async def start(rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID, body: bytes) -> ImportJobRow:
    """Queues an import of `body` (UTF-8 CSV) and starts it on this instance."""
    limit = rt.settings.import_max_bytes
    if len(body) > limit:
        raise Problem(413, "File too large", f"Imports are limited to {limit} bytes.")
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Problem(
            415,
            "Unsupported encoding",
            "The CSV is UTF-16 (Excel's 'Unicode Text'); save it as 'CSV UTF-8' and upload that.",
        )
    try:
        text = body.decode("utf-8")  # a byte order mark is kept here and skipped by the parser
    except UnicodeDecodeError as exc:
        raise Problem(
            415, "Unsupported encoding", "The CSV must be UTF-8 (with or without a byte order mark)."
        ) from exc
    async with transaction(rt.pool) as conn:
        cohort = await managed_cohort(conn, principal, cohort_id)
        ensure_phase(
            cohort,
            ENROLMENT_PHASES,
            "Enrolment closed",
            "Cohort is in phase {phase}; imports need draft or enrolling.",
        )
        job = await import_jobs.create(conn, cohort_id, principal.subject, rt.clock.now(), text)
    job_runner(rt).submit(TABLE, job.id)
    return job


async def get(rt: MatchingRuntime, principal: Principal, job_id: uuid.UUID) -> ImportJobRow:
    """The job and its report. The report's row errors name people of any region in the file, so
    regional HR read it only when they manage every region of the cohort (as they must to import)."""
    async with connection(rt.pool) as conn:
        job = await import_jobs.get(conn, job_id)
        if job is None:
            raise Problem(404, "Import not found")
        cohort = await visible_cohort(conn, principal, job.cohort_id)
    missing = [] if scope.reads_globally(principal) else scope.missing_regions(principal, cohort.regions)
    if missing:
        raise Problem(
            403,
            "Forbidden",
            "An import report names people of every region in its file: reading it needs every region "
            f"of the cohort, and your token does not cover {', '.join(missing)}.",
            missing_regions=missing,
        )
    return job


async def store_and_publish(
    conn: Conn, outbox: Outbox, cohort_id: uuid.UUID, parsed: Parsed, clock: Clock
) -> dict[str, int]:
    """The database half of an import, inside the caller's transaction."""
    now = clock.now()
    changed = await participants.import_upsert(conn, cohort_id, [p for _, p in parsed.accepted], now)
    events: list[tuple[EventPayload, str | None]] = [
        (participant_event(row, inserted=inserted, trusted=True), participant_subject(row))
        for row, inserted in changed
    ]
    await outbox.add_many(conn, events, time=now)
    inserted = sum(1 for _, new in changed if new)
    return {
        "inserted": inserted,
        "updated": len(changed) - inserted,
        "unchanged": len(parsed.accepted) - len(changed),
    }


def _without_erased(parsed: Parsed, erased: dict[str, str]) -> Parsed:
    """Rows of people erased on request are rejected; the report does not repeat their employee id
    (the line number finds the row in HR's file), so the erased id is not stored again."""
    refused = [
        RowError(line, "employee_id", f"erased on request on {erased[p.employee_id]}; not enrolled again")
        for line, p in parsed.accepted
        if p.employee_id in erased
    ]
    # Other rows of theirs (a duplicate, an invalid field) are reported without their employee id too.
    others = [
        RowError(e.line, e.field, e.message.replace(e.employee_id, "[erased]"))
        if e.employee_id is not None and e.employee_id in erased
        else e
        for e in parsed.rejected
    ]
    return Parsed(
        total=parsed.total,
        accepted=[(line, p) for line, p in parsed.accepted if p.employee_id not in erased],
        rejected=sorted([*others, *refused], key=lambda e: e.line),
        notes=[n for n in parsed.notes if n.employee_id not in erased],
        delimiter=parsed.delimiter,
    )


async def execute(rt: MatchingRuntime, job_id: uuid.UUID, owner: str) -> None:
    """Claims and runs one import; does nothing if another instance holds it or it is finished."""
    if not await claim(rt, TABLE, job_id, owner):
        return
    try:
        async with heartbeat(rt, TABLE, job_id, owner):
            await _run(rt, job_id, owner)
    except asyncio.CancelledError:  # shutting down: hand the job back so the next instance takes it now
        await asyncio.shield(release(rt, TABLE, job_id, owner))
        raise
    except Exception as exc:  # the job row must say what happened; the data is untouched
        log.exception("import %s failed", job_id)
        await _fail(rt, job_id, owner, f"{type(exc).__name__}: {exc}", None)


async def _fail(
    rt: MatchingRuntime, job_id: uuid.UUID, owner: str, error: str, report: dict[str, Any] | None
) -> None:  # Any: the report document
    async with connection(rt.pool) as conn:
        await import_jobs.fail(conn, job_id, owner, error, rt.clock.now(), report)


async def _run(rt: MatchingRuntime, job_id: uuid.UUID, owner: str) -> None:
    async with connection(rt.pool) as conn:
        job = await import_jobs.get(conn, job_id)
        if job is None:
            raise LookupError(f"import job {job_id} is missing")
        text = job.source
        if text is None:
            raise RuntimeError("the uploaded file is no longer stored; upload again")
        await import_jobs.start_progress(conn, job_id, owner, max(text.count("\n") - 1, 0))
        cohort = await cohorts.get(conn, job.cohort_id)
        if cohort is None:
            raise LookupError(f"cohort {job.cohort_id} is missing")
        existing = await participants.managers(conn, job.cohort_id)
    seen = [0]
    parse = asyncio.create_task(
        asyncio.to_thread(
            parse_csv,
            text,
            cohort_regions=cohort.regions,
            existing_managers=existing,
            progress=lambda n: seen.__setitem__(0, n),
        )
    )
    while not parse.done():
        await asyncio.wait({parse}, timeout=0.5)
        async with connection(rt.pool) as conn:
            await import_jobs.set_processed(conn, job_id, owner, seen[0])
    try:
        parsed = parse.result()
    except FileError as exc:
        await _fail(rt, job_id, owner, str(exc), {"total": 0, "accepted": 0, "rejected": 0, "errors": []})
        return
    async with transaction(rt.pool) as conn:
        if not await leases.still_owned(conn, TABLE, job_id, owner):
            log.warning("import %s was taken over by another instance; dropping this attempt", job_id)
            return
        locked = await cohorts.get(conn, job.cohort_id, lock=True)
        if locked is None or locked.phase not in ENROLMENT_PHASES:
            phase = locked.phase if locked else None
            raise RuntimeError(f"cohort moved to phase {phase!r}; imports need draft or enrolling")
        erased = await erased_among(
            conn,
            rt.settings,
            [p.employee_id for _, p in parsed.accepted]
            + [e.employee_id for e in parsed.rejected if e.employee_id],
        )
        if erased:
            parsed = _without_erased(parsed, erased)
        counts = await store_and_publish(conn, rt.outbox, job.cohort_id, parsed, rt.clock)
        rejected_lines = {e.line for e in parsed.rejected}
        report = {
            "total": parsed.total,
            "accepted": len(parsed.accepted),
            "rejected": len(rejected_lines),
            **counts,
            "errors": [e.as_dict() for e in parsed.rejected[:MAX_ERRORS_IN_REPORT]],
            "errors_truncated": len(parsed.rejected) > MAX_ERRORS_IN_REPORT,
            # accepted rows stored differently from how they were written (a language tag's region)
            "notes": [n.as_dict() for n in parsed.notes[:MAX_ERRORS_IN_REPORT]],
            "notes_truncated": len(parsed.notes) > MAX_ERRORS_IN_REPORT,
            "delimiter": DELIMITER_NAMES[parsed.delimiter],
        }
        await import_jobs.complete(conn, job_id, parsed.total, report, rt.clock.now())
