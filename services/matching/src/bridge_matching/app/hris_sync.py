"""Scheduled HRIS delta files: a folder polled on one instance at a time, whose files are applied to
the company directory (app/directory.py `write_in`, source "hris_file"), each delivery once.

- Which files: regular files directly in `hris_inbox_dir` whose name matches `hris_file_pattern`
  (case-insensitive) and does not start with "." (where transfer tools write before they rename),
  not modified for `hris_stable_seconds` by the service clock (a file still being written waits for
  a later poll); oldest first (modification time, then name), so deltas apply in the order they came,
  at most `hris_files_per_poll` deliveries a poll.
- Once: a delivery is the file's name with the SHA-256 of its content (db/hris_files.py). The same
  file polled again, or delivered again with the same content, is skipped; a changed file under the
  same name is a new delivery. The poll runs under the service's singleton lock
  (`bridge_shared.scheduling.singleton`) and claims a delivery with a unique insert.
- How: the file is read whole (at most `hris_max_bytes`) and validated (domain/hris_delta.py); its
  valid rows are written in batches of `hris_batch_rows`, each batch in one transaction that also
  advances the delivery's `rows_done` and progress after checking, under the row's lock, that this
  poll still owns it. A poll that stopped part-way (a crash, a lost connection) leaves the delivery
  'processing'; the next poll, holding the singleton lock, takes it over and resumes after the rows
  already written, so every row is written once. (Batches, not one transaction a file: every write
  takes a transaction-level advisory lock on the person, and thousands of them in one transaction
  would exhaust PostgreSQL's lock table.) A row the directory refuses (`DirectoryConflict`) is
  rolled back alone (a savepoint; batches stay under PostgreSQL's 64 cached subtransactions) and
  reported; a bad row never stops the others. A row of a person erased on request (`PersonErased`)
  is refused so, reported as "erased on request" without their employee id (docs/privacy.md); so
  are any other errors of their rows.
- Failures: a file that cannot be read (too large, not UTF-8, no header, a required column missing)
  is recorded as failed with the reason, nothing applied; a write failing for a reason that is not
  transient fails the delivery with the reason, the batches written before it staying (the report
  says how many rows). A transient error (a lost connection, a deadlock) ends the poll: the next one
  (the loop backs off) resumes the delivery. A failed delivery is not retried: fixing the file (new
  content) or renaming it makes a new delivery.
- After a delivery is finished its file moves to processed/ (failed/ for a failed one) in the inbox,
  unless `hris_move_processed` is false; a file whose delivery finished before moves too, so a move
  that failed (or a crash before it) is done at the next poll. A name taken there by other content
  gets the content's hash before its suffix.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fnmatch
import hashlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bridge_matching.app.directory import DirectoryConflict, PersonErased, write_in
from bridge_matching.app.privacy import erased_among
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.db import hris_files
from bridge_matching.db import privacy as privacy_db
from bridge_matching.db.errors import is_transient
from bridge_matching.db.hris_files import Delivery, FileStatus, HrisFileRow
from bridge_matching.db.records import Conn
from bridge_matching.domain.csv_import import FileError, RowError
from bridge_matching.domain.directory import DirectoryRecord
from bridge_matching.domain.hris_delta import DeltaParsed, parse_delta, report
from bridge_shared.auth import scope
from bridge_shared.auth.principal import Principal
from bridge_shared.db.connection import connection, transaction
from bridge_shared.errors import Problem
from bridge_shared.privacy.erased import ERASED_TEXT
from bridge_shared.scheduling.clock import Clock

log = logging.getLogger(__name__)

HRIS_JOB = "hris-delta-files"
MAX_ERRORS_IN_REPORT = 10_000
PROCESSED_DIR = "processed"
FAILED_DIR = "failed"
COUNTS = ("applied", "unchanged", "joined", "moved", "left")
_CHUNK = 1024 * 1024


@dataclass
class PollResult:
    """What one poll did: deliveries finished now (processed or failed), files left for a later poll
    (modified too recently, or unreadable: logged), and files whose delivery finished before."""

    finished: list[HrisFileRow] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    more: bool = False  # more stable files than one poll takes: poll again at once


@dataclass(frozen=True)
class _Found:
    path: Path
    size: int
    mtime_ns: int

    @property
    def modified_at(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9, UTC)


@dataclass(frozen=True)
class _Read:
    delivery: Delivery
    body: bytes | None  # None: over the size limit (hashed, not kept)
    changed: bool  # the file changed while it was read: it is not stable after all


@dataclass
class _Progress:
    """What the written batches did: the report's counts and the rows the directory refused."""

    counts: dict[str, int]
    refused: list[RowError]

    @classmethod
    def of(cls, doc: dict[str, Any]) -> _Progress:  # Any: the stored progress document
        counts = {k: int(doc.get("counts", {}).get(k, 0)) for k in COUNTS}
        return cls(counts, [RowError(**e) for e in doc.get("refused", [])])

    def doc(self) -> dict[str, Any]:  # Any: the progress document
        return {"counts": self.counts, "refused": [e.as_dict() for e in self.refused]}

    def copy(self) -> _Progress:
        return _Progress(dict(self.counts), list(self.refused))


# -- the folder (blocking; run in a worker thread) ---------------------------------------------------


def _scan(folder: Path, pattern: str) -> list[_Found]:
    """The folder's candidate files, oldest first. A missing folder is an empty one (logged)."""
    found = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        log.warning("the HRIS inbox %s does not exist", folder)
        return []
    for entry in entries:
        name = entry.name
        if name.startswith(".") or not fnmatch.fnmatchcase(name.lower(), pattern.lower()):
            continue
        try:
            if not entry.is_file():
                continue
            st = entry.stat()
        except FileNotFoundError:  # moved away since the listing
            continue
        found.append(_Found(Path(entry.path), st.st_size, st.st_mtime_ns))
    found.sort(key=lambda f: (f.mtime_ns, f.path.name))
    return found


def _read(found: _Found, limit: int) -> _Read:
    """Hashes the whole file and keeps its bytes up to `limit`."""
    digest = hashlib.sha256()
    kept = bytearray()
    size = 0
    with found.path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if size <= limit:
                kept += chunk
        st = os.fstat(f.fileno())
    changed = size != found.size or st.st_mtime_ns != found.mtime_ns
    delivery = Delivery(found.path.name, digest.hexdigest(), size, found.modified_at)
    return _Read(delivery, bytes(kept) if size <= limit else None, changed)


def _move(path: Path, sha256: str, subfolder: str) -> None:
    """Moves the file into `subfolder` of its folder; a name taken there by another file gets the
    content's hash before its suffix; the same content there already: the file is removed."""
    target_dir = path.parent / subfolder
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        if _sha256(target) == sha256:
            path.unlink()
            return
        target = target_dir / f"{path.stem}.{sha256[:12]}{path.suffix}"
    os.replace(path, target)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _text(body: bytes) -> str:
    """The file as text, or FileError saying why not (the rules of HR's CSV upload, app/imports.py)."""
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileError("the file is UTF-16 (Excel's 'Unicode Text'); export it as 'CSV UTF-8'")
    try:
        text = body.decode("utf-8")  # a byte order mark is kept here and skipped by the parser
    except UnicodeDecodeError as exc:
        raise FileError(f"the file is not UTF-8 (byte {exc.start}); export it as 'CSV UTF-8'") from exc
    nul = text.find("\x00")
    if nul >= 0:  # not a text file; PostgreSQL could not store its values either
        raise FileError(f"the file contains a NUL character (line {text.count(chr(10), 0, nul) + 1})")
    return text


# -- the poll ------------------------------------------------------------------------------------------


def poll_job(rt: MatchingRuntime) -> Callable[[Conn, Clock], Awaitable[PollResult]]:
    """The poll in the shape `bridge_shared.scheduling.singleton` runs: the tick's connection holds
    the singleton lock (so a delivery left 'processing' is nobody's, and this poll may resume it);
    the files' batches commit on their own connections, one by one."""

    async def job(conn: Conn, clock: Clock) -> PollResult:
        del conn  # holds the lock
        return await poll(rt, clock)

    return job


async def poll(rt: MatchingRuntime, clock: Clock) -> PollResult:
    """Takes the inbox's stable files (oldest first, at most `hris_files_per_poll` deliveries)."""
    settings = rt.settings
    out = PollResult()
    if settings.hris_inbox_dir is None:
        return out
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"  # this poll
    found = await asyncio.to_thread(_scan, settings.hris_inbox_dir, settings.hris_file_pattern)
    stable_before = clock.now() - timedelta(seconds=settings.hris_stable_seconds)
    for f in found:
        if f.modified_at > stable_before:
            out.waiting.append(f.path.name)
            continue
        if len(out.finished) == settings.hris_files_per_poll:
            out.more = True
            break
        try:
            read = await asyncio.to_thread(_read, f, settings.hris_max_bytes)
        except FileNotFoundError:  # moved away since the listing
            continue
        except OSError as exc:  # unreadable (permissions): the others still go
            log.warning("could not read HRIS file %s: %s", f.path.name, exc)
            out.waiting.append(f.path.name)
            continue
        if read.changed:
            out.waiting.append(f.path.name)
            continue
        status, row = await _take(rt, clock, read, owner)
        if row is not None:
            out.finished.append(row)
        elif status is not None:
            out.already.append(f.path.name)
        if settings.hris_move_processed and status in ("processed", "failed"):
            await _move_quietly(
                f.path, read.delivery.sha256, FAILED_DIR if status == "failed" else PROCESSED_DIR
            )
    return out


async def _move_quietly(path: Path, sha256: str, subfolder: str) -> None:
    """Moving is tidying up: the delivery is recorded, so a file that stays is never applied again."""
    try:
        await asyncio.to_thread(_move, path, sha256, subfolder)
    except OSError as exc:
        log.warning("could not move HRIS file %s to %s/: %s", path.name, subfolder, exc)


async def _take(
    rt: MatchingRuntime, clock: Clock, read: _Read, owner: str
) -> tuple[FileStatus | None, HrisFileRow | None]:
    """One delivery: (its status now, its row if this poll finished it). A new delivery is claimed,
    one left 'processing' is taken over and resumed, a finished one is left alone."""
    delivery = read.delivery
    async with connection(rt.pool) as conn:
        row = await hris_files.by_delivery(conn, delivery.name, delivery.sha256)
    if row is not None and row.status != "processing":
        return row.status, None
    try:
        if read.body is None:
            raise FileError(
                f"the file is {delivery.size_bytes} bytes; the limit is {rt.settings.hris_max_bytes} "
                "(hris_max_bytes)"
            )
        parsed = await asyncio.to_thread(parse_delta, _text(read.body))
    except FileError as exc:
        log.warning("HRIS file %s (%s) failed: %s", delivery.name, delivery.sha256[:12], exc)
        async with transaction(rt.pool) as conn:
            if row is None:
                failed = await hris_files.record_failed(conn, delivery, str(exc), owner, clock.now())
            elif await hris_files.take_over(conn, row.id, owner) is not None:
                failed = await hris_files.finish(conn, row.id, report=None, error=str(exc), now=clock.now())
            else:
                failed = None
        return (failed.status, failed) if failed is not None else (None, None)
    async with transaction(rt.pool) as conn:
        if row is None:
            row = await hris_files.claim(conn, delivery, owner, clock.now())
        else:
            row = await hris_files.take_over(conn, row.id, owner)
            if row is not None:
                log.info("HRIS file %s: resuming after %d written rows", delivery.name, row.rows_done)
    if row is None:  # another poll claimed or finished it meanwhile
        return None, None
    done = await _apply(rt, clock, row, parsed, owner)
    return (done.status, done) if done is not None else (None, None)


async def _apply(
    rt: MatchingRuntime, clock: Clock, row: HrisFileRow, parsed: DeltaParsed, owner: str
) -> HrisFileRow | None:
    """Writes the delivery's valid rows after `row.rows_done`, batch by batch, then its report.
    None when another poll took the delivery over meanwhile."""
    progress = _Progress.of(row.progress)
    done = row.rows_done
    size = rt.settings.hris_batch_rows
    try:
        while done < len(parsed.accepted):
            batch = parsed.accepted[done : done + size]
            step = progress.copy()
            async with transaction(rt.pool) as conn:
                if not await hris_files.owned(conn, row.id, owner):
                    log.warning("HRIS file %s was taken over by another poll; stopping", row.name)
                    return None
                await _write(rt, conn, batch, step, clock.now())
                await hris_files.advance(conn, row.id, done + len(batch), step.doc())
            progress, done = step, done + len(batch)
        error = None
    except Exception as exc:
        if is_transient(exc):
            raise  # the delivery stays 'processing': the next poll resumes it
        log.exception("HRIS file %s (%s) failed", row.name, row.sha256[:12])
        error = (
            f"{type(exc).__name__}: {exc} ({done} of {len(parsed.accepted)} valid rows were written first)"
        )
    async with transaction(rt.pool) as conn:
        if not await hris_files.owned(conn, row.id, owner):
            return None
        # Rows of people erased on request (before, or while the file was written) keep their line
        # and field, not their employee id; an erasure running now is waited for (it scrubs the
        # reports written before it, this one checks the ledger after it).
        await privacy_db.lock_erasures(conn, rt.settings.db_schema, shared=True)
        erased = await erased_among(
            conn, rt.settings, [e.employee_id for e in (*parsed.rejected, *progress.refused) if e.employee_id]
        )
        if erased:
            parsed = dataclasses.replace(parsed, rejected=_without_erased(parsed.rejected, erased))
            progress = _Progress(progress.counts, _without_erased(progress.refused, erased))
            await hris_files.advance(conn, row.id, done, progress.doc())
        body = report(parsed, progress.counts, progress.refused, MAX_ERRORS_IN_REPORT)
        finished = await hris_files.finish(conn, row.id, report=body, error=error, now=clock.now())
    log.info(
        "HRIS file %s (%s) %s: %s",
        row.name,
        row.sha256[:12],
        finished.status,
        ", ".join(f"{k}={body[k]}" for k in ("total", *COUNTS, "rejected")),
    )
    return finished


async def _write(
    rt: MatchingRuntime,
    conn: Conn,
    batch: list[tuple[int, DirectoryRecord]],
    progress: _Progress,
    now: datetime,
) -> None:
    """One batch of rows into the directory, in the caller's transaction; counts what each meant."""
    counts = progress.counts
    for line, record in batch:
        try:
            async with conn.transaction():  # a savepoint: a refused row leaves no trace
                written = await write_in(rt, conn, record, source="hris_file", now=now)
        except DirectoryConflict as exc:
            progress.refused.append(RowError(line, exc.field, str(exc), record.employee_id))
            continue
        except PersonErased as exc:  # reported without their employee id: the line finds the row
            progress.refused.append(RowError(line, "employee_id", str(exc)))
            continue
        change = written.change
        # An unchanged record is not written (its entry keeps its last update time).
        changed = written.created or written.entry.updated_at == now
        counts["applied" if changed else "unchanged"] += 1
        counts["joined"] += change.joined
        counts["moved"] += bool(change.moved)
        counts["left"] += change.left is not None


def _without_erased(errors: list[RowError], erased: dict[str, str]) -> list[RowError]:
    """Errors of rows of people erased on request, without their employee id (in the message too),
    as a cohort import reports them (app/imports.py)."""
    return [
        RowError(e.line, e.field, e.message.replace(e.employee_id, ERASED_TEXT))
        if e.employee_id is not None and e.employee_id in erased
        else e
        for e in errors
    ]


# -- HR's view -------------------------------------------------------------------------------------


def ensure_reader(principal: Principal) -> None:
    """A delivery's report names people of every region (the file is the whole company's), so it is
    for global readers: hr_admin and service tokens. Regional HR get 403."""
    if not scope.reads_globally(principal):
        raise Problem(
            403,
            "Forbidden",
            "HRIS delivery reports name people of every region: reading them needs hr_admin "
            "(every region), not regional HR.",
        )


async def page(rt: MatchingRuntime, principal: Principal, limit: int, offset: int) -> list[HrisFileRow]:
    """Deliveries, newest first, their reports without the rejected rows."""
    ensure_reader(principal)
    async with connection(rt.pool) as conn:
        return await hris_files.page(conn, limit, offset)


async def get(rt: MatchingRuntime, principal: Principal, file_id: uuid.UUID) -> HrisFileRow:
    """One delivery with its whole report."""
    ensure_reader(principal)
    async with connection(rt.pool) as conn:
        row = await hris_files.get(conn, file_id)
    if row is None:
        raise Problem(404, "Not found", "No HRIS file delivery has this id.")
    return row
