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

INTERFACE (used by api/scim.py, app/hris_sync.py and api/directory.py): filled in by the directory
core; signatures are the contract between them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.db.records import Conn
from bridge_matching.domain.directory import Change, DirectoryRecord, LeftCause, Source


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


async def write_in(
    rt: MatchingRuntime, conn: Conn, record: DirectoryRecord, *, source: Source, now: datetime
) -> Written:
    """Create or update the entry with `record.employee_id` (case-insensitive) in the caller's
    transaction, with its events and JML effects. Idempotent: writing the same record twice changes
    nothing the second time (no events). Raises DirectoryConflict when the user name or external id
    belongs to another entry."""
    raise NotImplementedError


async def create(rt: MatchingRuntime, record: DirectoryRecord, *, source: Source) -> DirectoryEntry:
    """A new entry (own transaction). DirectoryConflict when the employee id, user name or external id
    is taken by a live entry."""
    raise NotImplementedError


async def replace(
    rt: MatchingRuntime,
    person_id: uuid.UUID,
    record: DirectoryRecord,
    *,
    source: Source,
    if_version: int | None = None,
) -> DirectoryEntry:
    """Replaces the entry's record (own transaction; `active: false` makes a leaver).
    DirectoryNotFound, VersionMismatch, DirectoryConflict."""
    raise NotImplementedError


async def delete(rt: MatchingRuntime, person_id: uuid.UUID, *, source: Source) -> None:
    """Removes the entry from the directory (SCIM DELETE: it is gone for GET afterwards). A person
    still active leaves with cause "deleted". DirectoryNotFound."""
    raise NotImplementedError


async def get(rt: MatchingRuntime, person_id: uuid.UUID) -> DirectoryEntry:
    """DirectoryNotFound when absent or deleted."""
    raise NotImplementedError


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
    raise NotImplementedError


async def leave_due(rt: MatchingRuntime, today: date) -> int:
    """The scheduled pass: everyone whose termination date has come and who has not left yet leaves
    (cause "terminated", source "scheduler"). Returns how many left."""
    raise NotImplementedError
