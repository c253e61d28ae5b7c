"""Bounded input types: every string, list and integer a Bridge service accepts has a limit.

Use them in every request model of every service (`bridge_shared.http.params` for query and path
parameters; lists are bounded where they are declared: `list[Tag] = Field(max_length=50)`), and in
domain parsers that read the same fields from elsewhere (the HRIS CSV import), so nothing a caller
sends can grow an event past the outbox's 1 MB limit or a response past what a list can page.

Strings are checked as sent, then cleaned:
* their length as sent is at most the type's maximum (so the documented `maxLength` holds);
* they carry no control character (C0, DEL, C1) and no lone surrogate; `MediumText` and `LongText`
  allow newline, carriage return and tab; NUL is refused everywhere;
* leading and trailing whitespace is removed, and what is left must not be empty.
The OpenAPI schema states the same with `maxLength` and a `pattern` (at least one visible character,
no control character), so clients and generated tests see the rule the service applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, Field, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

__all__ = [
    "LONG_TEXT_MAX",
    "MAX_INT32",
    "MAX_OFFSET",
    "MULTI_LINE",
    "SHORT_TEXT_MAX",
    "SINGLE_LINE",
    "TAG_MAX",
    "BoundedInt",
    "Identifier",
    "LongText",
    "MediumText",
    "NonNegativeInt32",
    "Phrase",
    "PositiveInt32",
    "RegionCode",
    "ShortText",
    "Tag",
    "check_text",
]

SHORT_TEXT_MAX = 200  # names, titles, departments
PHRASE_MAX = 500  # one line: places, goals, action items
MEDIUM_TEXT_MAX = 2_000  # reasons, one-paragraph answers
LONG_TEXT_MAX = 10_000  # notes, feedback, messages
TAG_MAX = 100  # skills, taxonomy items, language codes
IDENTIFIER_MAX = 128  # employee ids, external ids
REGION_MAX = 64
MAX_OFFSET = 1_000_000  # paging deeper than this is refused (422), not sent to the database
MAX_INT32 = 2**31 - 1

# C0 controls, DEL and C1 controls; in text that may span lines, newline, carriage return and tab
# are allowed. Lone surrogates (which no encoder, and so no database, can write) are refused too,
# but are not named in the documented pattern: JSON Schema's regex dialect cannot state them
# portably, and generators that read the pattern then ignore it.
_SINGLE_LINE_BAD = "\\x00-\\x1f\\x7f-\\x9f"
_MULTI_LINE_BAD = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f"
_SURROGATES = "\\ud800-\\udfff"
_SINGLE_LINE_RE = re.compile(f"[{_SINGLE_LINE_BAD}{_SURROGATES}]")
_MULTI_LINE_RE = re.compile(f"[{_MULTI_LINE_BAD}{_SURROGATES}]")
# Anything but the refused characters, with at least one that is not whitespace.
SINGLE_LINE_PATTERN = f"^[^{_SINGLE_LINE_BAD}]*[^\\s{_SINGLE_LINE_BAD}][^{_SINGLE_LINE_BAD}]*$"
MULTI_LINE_PATTERN = f"^[^{_MULTI_LINE_BAD}]*[^\\s{_MULTI_LINE_BAD}][^{_MULTI_LINE_BAD}]*$"


def check_text(value: str, *, multiline: bool = False) -> str:
    """The cleaned value: refuses control characters (and NUL), strips, refuses an empty result.

    The errors have types of their own (`control_character`, `blank`), named in a 422's `errors`."""
    if not multiline and value.endswith("\n"):
        # The documented pattern ends in `$`, which (as in Python's re) also matches before one
        # final newline; the value is accepted exactly when it matches, and the newline is stripped.
        value = value[:-1]
    bad = (_MULTI_LINE_RE if multiline else _SINGLE_LINE_RE).search(value)
    if bad is not None:
        raise PydanticCustomError(
            "control_character",
            "control character U+{code} is not allowed",
            {"code": f"{ord(bad.group()):04X}"},
        )
    cleaned = value.strip()
    if not cleaned:
        raise PydanticCustomError("blank", "must not be empty or only whitespace")
    return cleaned


def _single(value: str) -> str:
    return check_text(value, multiline=False)


def _multi(value: str) -> str:
    return check_text(value, multiline=True)


@dataclass(frozen=True)
class _Documented:
    """Puts the rule `check_text` applies into the JSON schema (`minLength` 1 and a `pattern`)."""

    pattern: str

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["minLength"] = max(schema.get("minLength", 0), 1)
        schema["pattern"] = self.pattern
        return schema


# The rules, for a text type of another length:
# `Annotated[str, StringConstraints(max_length=500), *SINGLE_LINE]`.
SINGLE_LINE = (AfterValidator(_single), _Documented(SINGLE_LINE_PATTERN))
MULTI_LINE = (AfterValidator(_multi), _Documented(MULTI_LINE_PATTERN))
_SINGLE = SINGLE_LINE
_MULTI = MULTI_LINE

ShortText = Annotated[str, StringConstraints(max_length=SHORT_TEXT_MAX), *_SINGLE]
"""One line, at most 200 characters: names, titles, departments."""

Phrase = Annotated[str, StringConstraints(max_length=PHRASE_MAX), *_SINGLE]
"""One line, at most 500 characters: places, goals, action items, topics."""

MediumText = Annotated[str, StringConstraints(max_length=MEDIUM_TEXT_MAX), *_MULTI]
"""At most 2,000 characters, newlines allowed: reasons, short answers."""

LongText = Annotated[str, StringConstraints(max_length=LONG_TEXT_MAX), *_MULTI]
"""At most 10,000 characters, newlines allowed: notes, feedback, messages."""

Tag = Annotated[str, StringConstraints(max_length=TAG_MAX), *_SINGLE]
"""One skill, taxonomy item or language code: one line, at most 100 characters."""

Identifier = Annotated[str, StringConstraints(max_length=IDENTIFIER_MAX), *_SINGLE]
"""An identifier from another system (employee id, cohort id as text): one line, at most 128."""

RegionCode = Annotated[str, StringConstraints(max_length=REGION_MAX), *_SINGLE]
"""A region code: one line, at most 64 characters."""


def text(max_length: int, *, multiline: bool = False) -> Any:  # Any: an Annotated type
    """A text type with its own maximum length, cleaned and checked like the others."""
    rules = _MULTI if multiline else _SINGLE
    return Annotated[str, StringConstraints(max_length=max_length), *rules]


BoundedInt = Annotated[int, Field(ge=-MAX_INT32 - 1, le=MAX_INT32)]
"""An integer that fits the database's `integer` column."""

NonNegativeInt32 = Annotated[int, Field(ge=0, le=MAX_INT32)]
PositiveInt32 = Annotated[int, Field(ge=1, le=MAX_INT32)]
