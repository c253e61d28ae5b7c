"""Field types shared by the event contracts."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, Field, StringConstraints

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Role = Literal["mentor", "mentee", "either"]
Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]
Region = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Seniority = Annotated[int, Field(ge=1, le=15)]
_ZONES = frozenset(available_timezones())


def _check_zone(value: str) -> str:
    if value not in _ZONES:
        raise ValueError(f"unknown IANA time zone {value!r}")
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_zone)]
