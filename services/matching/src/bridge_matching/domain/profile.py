"""A participant's profile: the one definition of its fields.

`ParticipantIn` (what HR enrols, what the HRIS CSV carries, what a participant edits) is the source:
`PROFILE_FIELDS` (the stored profile columns, in order), the CSV's required and optional columns and
its list columns, the repositories' column lists and the import's staging table are all derived from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from bridge_matching.domain import languages
from bridge_matching.domain.rows import ParticipantRow
from bridge_shared.contracts.common import Locale, Role, Seniority, TimeZoneName
from bridge_shared.types import Identifier, RegionCode, ShortText, Tag


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(
        pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$",
        description="before the start: the window runs past midnight into the next weekday",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> Window:
        # An end before the start runs past midnight into the next weekday (Fri 22:00-02:00 ends on
        # Saturday), as the engine reads it; an end equal to the start is no time at all.
        if self.end == self.start:
            raise ValueError("end must differ from start (an end before the start runs past midnight)")
        return self


def clean_tags(v: list[str]) -> list[str]:
    """Tags as written (inner whitespace collapsed), without case-insensitive repeats (the first
    spelling is kept), sorted case-insensitively."""
    seen: dict[str, str] = {}
    for s in v:
        tag = " ".join(s.split())
        if tag:
            seen.setdefault(tag.casefold(), tag)
    return [seen[k] for k in sorted(seen)]


def _language(v: str) -> str:
    try:
        return languages.normalise(v).code
    except languages.UnknownLanguage as exc:
        # a value against a list the service knows, like a time zone: a `value_error` (no JSON schema
        # states it), with the message as it is (no "Value error, " before it)
        raise PydanticCustomError("value_error", "{reason}", {"reason": str(exc)}) from exc


def clean_languages(v: list[str]) -> list[str]:
    return sorted(set(v))


def id_key(employee_id: str) -> str:
    """The key employee ids are compared by: `a1` and `A1` are one person. The id is kept as HR wrote
    it; the database enforces one participant per cohort and `lower(employee_id)`, the same key."""
    return employee_id.lower()


# A language: a BCP 47 tag as sent (bounded like every tag), stored as its primary language subtag.
LanguageCode = Annotated[Tag, AfterValidator(_language)]


# Bounds (bridge_shared.types): every string has a maximum length and refuses control characters;
# every list a maximum number of items, so a profile (and its event) stays a few tens of kilobytes.
MAX_LANGUAGES = 20
MAX_SKILLS = 50
MAX_WINDOWS = 50
MAX_REQUESTED = 20
MAX_BLOCKED = 50


class ParticipantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_id: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="compared case-insensitively (a1 and A1 are one person); kept as first written",
    )
    role: Role
    display_name: ShortText
    email: EmailStr
    seniority_level: Seniority
    department: ShortText
    manager_employee_id: Identifier | None = None
    region: RegionCode
    languages: list[LanguageCode] = Field(
        min_length=1,
        max_length=MAX_LANGUAGES,
        description="BCP 47 tags (ISO 639-1/639-3 codes, e.g. en, en-GB, yue); stored as the lower-case "
        "primary language subtag (en-GB -> en)",
    )
    timezone: TimeZoneName
    locale: Locale = "en"
    availability: list[Window] = Field(default_factory=list, max_length=MAX_WINDOWS)
    skills_to_share: list[Tag] = Field(default_factory=list, max_length=MAX_SKILLS)
    skills_to_learn: list[Tag] = Field(default_factory=list, max_length=MAX_SKILLS)
    meeting_preference: Literal["in_person", "video", "either"] = "either"
    capacity: int = Field(default=1, ge=1, le=10)
    requested_partners: list[Identifier] = Field(default_factory=list, max_length=MAX_REQUESTED)
    blocked_partners: list[Identifier] = Field(default_factory=list, max_length=MAX_BLOCKED)
    facilitator_eligible: bool = Field(
        False, description="may facilitate a mentoring circle (managed by HR; the CSV's optional column)"
    )

    # Items are checked (bounded, no control characters, not blank) before they are cleaned.
    # Languages are checked one by one (an unknown code is an error at `languages.<i>`) and stored as
    # their primary language subtag (domain/languages.py); skills are kept as written.
    _tags = field_validator("skills_to_share", "skills_to_learn")(clean_tags)
    _languages = field_validator("languages")(clean_languages)

    @field_validator("manager_employee_id", mode="before")
    @classmethod
    def _blank_manager(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("requested_partners", "blocked_partners")
    @classmethod
    def _ids(cls, v: list[str]) -> list[str]:
        """Without repeats, case-insensitively (the first spelling is kept), like employee ids."""
        seen: dict[str, str] = {}
        for s in v:
            if s.strip():
                seen.setdefault(id_key(s.strip()), s.strip())
        return sorted(seen.values())

    @model_validator(mode="after")
    def _not_self(self) -> ParticipantIn:
        me = id_key(self.employee_id)
        if self.manager_employee_id is not None and id_key(self.manager_employee_id) == me:
            raise ValueError("manager_employee_id cannot be the participant themself")
        requested = {id_key(i) for i in self.requested_partners}
        blocked = {id_key(i) for i in self.blocked_partners}
        if me in requested or me in blocked:
            raise ValueError("a participant cannot request or block themself")
        if requested & blocked:
            raise ValueError("the same partner cannot be both requested and blocked")
        return self


KEY = "employee_id"
# Every stored profile column but the key, in ParticipantIn's order.
PROFILE_FIELDS: tuple[str, ...] = tuple(f for f in ParticipantIn.model_fields if f != KEY)
# The fields a participant must give (the HRIS CSV's required columns) and the ones with defaults.
REQUIRED_FIELDS: tuple[str, ...] = tuple(f for f, i in ParticipantIn.model_fields.items() if i.is_required())
OPTIONAL_FIELDS: tuple[str, ...] = tuple(
    f for f, i in ParticipantIn.model_fields.items() if not i.is_required()
)


# Fields that are lists of strings (`;`-separated in the CSV).
def _is_text_list(annotation: Any) -> bool:  # Any: a type expression
    if get_origin(annotation) is not list:
        return False
    (item,) = get_args(annotation)
    return item is str or (get_origin(item) is Annotated and get_args(item)[0] is str)


LIST_FIELDS: tuple[str, ...] = tuple(
    f for f, i in ParticipantIn.model_fields.items() if _is_text_list(i.annotation)
)

# What a participant may change about themself; the rest comes from HR / the HRIS.
HR_MANAGED = frozenset(
    {"email", "seniority_level", "department", "manager_employee_id", "region", "facilitator_eligible"}
)
SELF_EDITABLE = frozenset(PROFILE_FIELDS) - HR_MANAGED


def profile_values(p: ParticipantIn) -> list[Any]:  # Any: one value per column
    """The profile's values in PROFILE_FIELDS order, as they are stored (availability as JSON data).

    Any: one value per column, of the column's own type."""
    dumped = p.model_dump()
    return [dumped[f] for f in PROFILE_FIELDS]


def resolve_references(rows: Sequence[ParticipantRow]) -> list[ParticipantRow]:
    """The rows with every employee id they name (manager, requested and blocked partners) spelled as
    the participant with that id among `rows` (`a1` names the stored `A1`), or else as the first row
    that names it, so exact comparisons of the results are case-insensitive ones."""
    spelling = {id_key(r.employee_id): r.employee_id for r in rows}
    for r in rows:
        for ref in (r.manager_employee_id, *r.requested_partners, *r.blocked_partners):
            if ref is not None:
                spelling.setdefault(id_key(ref), ref)

    def fix(ids: list[str]) -> list[str]:
        return sorted({spelling[id_key(i)] for i in ids})

    out = []
    for r in rows:
        manager = None if r.manager_employee_id is None else spelling[id_key(r.manager_employee_id)]
        requested, blocked = fix(r.requested_partners), fix(r.blocked_partners)
        if (manager, requested, blocked) == (r.manager_employee_id, r.requested_partners, r.blocked_partners):
            out.append(r)
        else:
            out.append(
                dataclasses.replace(
                    r, manager_employee_id=manager, requested_partners=requested, blocked_partners=blocked
                )
            )
    return out
