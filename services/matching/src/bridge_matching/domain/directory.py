"""The company directory: one entry per employee, kept from the identity provider (SCIM 2.0) and from
scheduled HRIS delta files. Distinct from cohort enrolment: a participant is one person's enrolment in
one cohort, linked to their directory entry by employee id (compared case-insensitively, `id_key`).

The directory is the source of the profile fields HR owns (`FLOWING_FIELDS`): when they change, every
live enrolment of the person is updated. Fields the participant owns (skills, availability,
languages, preferences, role) stay theirs.

Pure: the record, its validation, what a change means (joined / moved / left), what flows into an
enrolment, and the management-chain check of a formed pair after someone's manager changed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from bridge_matching.domain.engine.chains import ancestors
from bridge_matching.domain.profile import id_key
from bridge_shared.contracts.common import Seniority
from bridge_shared.types import Identifier, RegionCode, ShortText

Source = Literal["scim", "hris_file", "scheduler"]
LeftCause = Literal["deactivated", "deleted", "terminated"]


class DirectoryRecord(BaseModel):
    """What the company says about one employee: every field HR (or the identity provider) owns.

    `employee_id` is the key Bridge links enrolments by (the HRIS employee number; SCIM's enterprise
    `employeeNumber`). Optional fields left out mean "not known", not "clear it"."""

    model_config = ConfigDict(extra="forbid")

    employee_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    user_name: ShortText | None = Field(default=None, description="the identity provider's login name")
    external_id: Identifier | None = Field(default=None, description="the identity provider's id")
    display_name: ShortText
    given_name: ShortText | None = None
    family_name: ShortText | None = None
    email: EmailStr
    title: ShortText | None = None
    department: ShortText | None = None
    manager_employee_id: Identifier | None = None
    region: RegionCode | None = None
    seniority_level: Seniority | None = None
    locale: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    timezone: str | None = Field(default=None, max_length=64)
    start_date: date | None = None
    termination_date: date | None = None
    active: bool = True

    @field_validator("manager_employee_id", mode="before")
    @classmethod
    def _blank_manager(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @model_validator(mode="after")
    def _not_own_manager(self) -> DirectoryRecord:
        # As on a participant (domain/profile.py): the value would flow into every enrolment.
        if self.manager_employee_id is not None and id_key(self.manager_employee_id) == self.key:
            raise ValueError("manager_employee_id cannot be the employee themself")
        return self

    @property
    def key(self) -> str:
        return id_key(self.employee_id)


# Directory fields that flow into every live enrolment (participants' columns of the same name).
FLOWING_FIELDS: tuple[str, ...] = (
    "display_name",
    "email",
    "department",
    "manager_employee_id",
    "region",
    "seniority_level",
)

# The directory fields a `matching.person.moved` names (its `changed`), by record field.
MOVED_FIELD_OF: dict[str, str] = {
    "manager_employee_id": "manager",
    "department": "department",
    "region": "region",
    "title": "title",
    "email": "email",
    "display_name": "name",
    "locale": "locale",
    "timezone": "timezone",
}


@dataclass(frozen=True)
class Change:
    """What one write to the directory means for the programme."""

    joined: bool
    moved: tuple[str, ...]  # MOVED_FIELD_OF values, in that order
    left: LeftCause | None


def has_left(record: DirectoryRecord, today: date) -> LeftCause | None:
    """Whether the record says the person has left: deactivated, or past their termination date."""
    if not record.active:
        return "deactivated"
    if record.termination_date is not None and record.termination_date <= today:
        return "terminated"
    return None


def change_of(before: DirectoryRecord | None, after: DirectoryRecord, today: date) -> Change:
    """`before` None: a new entry. A person who had already left and is written again as active
    (rehired, or reactivated by mistake) is a joiner again."""
    return change_of_stored(before, has_left(before, today) if before is not None else None, after, today)


def change_of_stored(
    before: DirectoryRecord | None, left_before: LeftCause | None, after: DirectoryRecord, today: date
) -> Change:
    """`change_of` with whether the person had left as it is stored (`left_before`), not as the old
    record reads today: a termination date that passed before the scheduled pass got to it has not
    made anyone leave yet, so the next write (or the pass) still does."""
    left_after = has_left(after, today)
    if before is None or (left_before is not None and left_after is None):
        return Change(joined=left_after is None, moved=(), left=None)
    moved = tuple(
        label for name, label in MOVED_FIELD_OF.items() if getattr(before, name) != getattr(after, name)
    )
    left = None if left_before else left_after
    return Change(joined=False, moved=moved if left_after is None else (), left=left)


# -- the profile fields HR owns, from the directory -------------------------------------------------


def flowing_values(record: DirectoryRecord) -> dict[str, Any]:  # Any: the fields' own types
    """The FLOWING_FIELDS the record knows (None means "not known", which never clears a field)."""
    return {f: v for f in FLOWING_FIELDS if (v := getattr(record, f)) is not None}


def overlay(profile: Mapping[str, Any], record: DirectoryRecord) -> dict[str, Any]:  # Any: field values
    """`profile` (a participant's fields by name) with the values the directory owns put over it."""
    return {**profile, **flowing_values(record)}


def differs(profile: Mapping[str, Any], record: DirectoryRecord) -> bool:  # Any: field values
    """Whether a flowing field of the record differs from the profile's (an enrolment to update)."""
    return any(profile.get(f) != v for f, v in flowing_values(record).items())


# Fields a directory entry must have for an enrolment (ParticipantIn requires them; the directory
# may not know them).
ENROLMENT_REQUIRES: tuple[str, ...] = ("department", "region", "seniority_level")


def missing_for_enrolment(record: DirectoryRecord) -> list[str]:
    return [f for f in ENROLMENT_REQUIRES if getattr(record, f) is None]


# -- the management-chain rule after a move --------------------------------------------------------

ChainRule = Literal["management_chain"]
MANAGEMENT_CHAIN: ChainRule = "management_chain"


@dataclass(frozen=True)
class ChainBreach:
    """An active pair whose two people are now within `depth` management levels of each other:
    `upper` ("mentor" or "mentee") is `levels` above the other."""

    upper: Literal["mentor", "mentee"]
    levels: int
    depth: int
    path: tuple[str, ...]  # the employee keys from the lower person up to the upper one

    @property
    def state(self) -> str:
        """What identifies this breach for "flag once" (a hash: no employee id is stored with it)."""
        return hashlib.sha256("\x00".join((self.upper, *self.path)).encode()).hexdigest()

    def reason(self) -> str:
        """Plain language for HR, naming no one."""
        lower = "mentee" if self.upper == "mentor" else "mentor"
        levels = "1 level" if self.levels == 1 else f"{self.levels} levels"
        return (
            f"After a change of manager, the {self.upper} is now {levels} above the {lower} in the "
            f"management chain; this cohort excludes pairs within {self.depth} levels. The pair stays "
            "formed until HR decides."
        )


def chain_breach(
    mentor_key: str, mentee_key: str, manager_of: Mapping[str, str | None], depth: int
) -> ChainBreach | None:
    """The management-chain rule of the engine (engine/constraints.py) for one formed pair, over
    employee keys (`id_key`): broken when either is among the other's first `depth` managers."""
    if depth <= 0:
        return None
    sides: tuple[tuple[Literal["mentor", "mentee"], str, str], ...] = (
        ("mentor", mentee_key, mentor_key),
        ("mentee", mentor_key, mentee_key),
    )
    for upper, lower_key, upper_key in sides:
        chain = ancestors(lower_key, manager_of, depth)
        if upper_key in chain:
            levels = chain.index(upper_key) + 1
            return ChainBreach(upper, levels, depth, (lower_key, *chain[:levels]))
    return None


# -- the stored entry ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DirectoryRow:
    """One row of directory_entries (db/directory.py); `record` is the stored DirectoryRecord as JSON."""

    id: uuid.UUID
    employee_id: str
    record: dict[str, Any]  # Any: DirectoryRecord.model_dump(mode="json")
    version: int
    source: Source
    created_at: datetime
    updated_at: datetime
    left_at: datetime | None
    left_cause: LeftCause | None
    deleted_at: datetime | None


def left_on(record: DirectoryRecord, today: date) -> date:
    """The day a leaver left: their termination date when it has come, else today."""
    t = record.termination_date
    return t if t is not None and t <= today else today
