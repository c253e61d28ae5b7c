"""Field types shared by the event contracts."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema

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


# An e-mail address in an event. The producing service validated and normalised it where it came in
# (pydantic's EmailStr, with email-validator, in its API and import models), so a reader only checks
# its shape: one "@" between non-empty parts, no whitespace, at most 320 characters. Running
# email-validator again on every event read cost about 16 us an address, most of decoding a
# pair.formed. The published schema is unchanged: a string of format "email".
EventEmail = Annotated[
    str,
    StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"),
    WithJsonSchema({"type": "string", "format": "email"}),
]
