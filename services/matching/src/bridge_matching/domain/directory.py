"""The company directory: one entry per employee, kept from the identity provider (SCIM 2.0) and from
scheduled HRIS delta files. Distinct from cohort enrolment: a participant is one person's enrolment in
one cohort, linked to their directory entry by employee id (compared case-insensitively, `id_key`).

The directory is the source of the profile fields HR owns (`FLOWING_FIELDS`): when they change, every
live enrolment of the person is updated. Fields the participant owns (skills, availability,
languages, preferences, role) stay theirs.

Pure: the record, its validation, and what a change means (joined / moved / left).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

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
    left_after = has_left(after, today)
    left_before = has_left(before, today) if before is not None else None
    if before is None or (left_before is not None and left_after is None):
        return Change(joined=left_after is None, moved=(), left=None)
    moved = tuple(
        label for name, label in MOVED_FIELD_OF.items() if getattr(before, name) != getattr(after, name)
    )
    left = None if left_before else left_after
    return Change(joined=False, moved=moved if left_after is None else (), left=left)
