"""A participant's profile: the one definition of its fields.

`ParticipantIn` (what HR enrols, what the HRIS CSV carries, what a participant edits) is the source:
`PROFILE_FIELDS` (the stored profile columns, in order), the CSV's required and optional columns and
its list columns, the repositories' column lists and the import's staging table are all derived from it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from bridge_shared.contracts.common import Locale, Role, Seniority, TimeZoneName
from bridge_shared.types import Identifier, RegionCode, ShortText, Tag


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


def clean_tags(v: list[str]) -> list[str]:
    return sorted({" ".join(s.split()).lower() for s in v if s.strip()})


# Bounds (bridge_shared.types): every string has a maximum length and refuses control characters;
# every list a maximum number of items, so a profile (and its event) stays a few tens of kilobytes.
MAX_LANGUAGES = 20
MAX_SKILLS = 50
MAX_WINDOWS = 50
MAX_REQUESTED = 20
MAX_BLOCKED = 50


class ParticipantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    role: Role
    display_name: ShortText
    email: EmailStr
    seniority_level: Seniority
    department: ShortText
    manager_employee_id: Identifier | None = None
    region: RegionCode
    languages: list[Tag] = Field(min_length=1, max_length=MAX_LANGUAGES)
    timezone: TimeZoneName
    locale: Locale = "en"
    availability: list[Window] = Field(default_factory=list, max_length=MAX_WINDOWS)
    skills_to_share: list[Tag] = Field(default_factory=list, max_length=MAX_SKILLS)
    skills_to_learn: list[Tag] = Field(default_factory=list, max_length=MAX_SKILLS)
    meeting_preference: Literal["in_person", "video", "either"] = "either"
    capacity: int = Field(default=1, ge=1, le=10)
    requested_partners: list[Identifier] = Field(default_factory=list, max_length=MAX_REQUESTED)
    blocked_partners: list[Identifier] = Field(default_factory=list, max_length=MAX_BLOCKED)

    # Items are checked (bounded, no control characters, not blank) before they are cleaned.
    _tags = field_validator("languages", "skills_to_share", "skills_to_learn")(clean_tags)

    @field_validator("manager_employee_id", mode="before")
    @classmethod
    def _blank_manager(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("requested_partners", "blocked_partners")
    @classmethod
    def _ids(cls, v: list[str]) -> list[str]:
        return sorted({s.strip() for s in v if s.strip()})

    @model_validator(mode="after")
    def _not_self(self) -> ParticipantIn:
        if self.manager_employee_id == self.employee_id:
            raise ValueError("manager_employee_id cannot be the participant themself")
        if self.employee_id in self.requested_partners or self.employee_id in self.blocked_partners:
            raise ValueError("a participant cannot request or block themself")
        if set(self.requested_partners) & set(self.blocked_partners):
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
HR_MANAGED = frozenset({"email", "seniority_level", "department", "manager_employee_id", "region"})
SELF_EDITABLE = frozenset(PROFILE_FIELDS) - HR_MANAGED


def profile_values(p: ParticipantIn) -> list[Any]:  # Any: one value per column
    """The profile's values in PROFILE_FIELDS order, as they are stored (availability as JSON data).

    Any: one value per column, of the column's own type."""
    dumped = p.model_dump()
    return [dumped[f] for f in PROFILE_FIELDS]
