"""How sensitive each event field is, and the `Personal` marker that seals a field on the wire.

Every field of every event has a classification, shown as `x-classification` in the published JSON
Schemas (docs/privacy.md):

- `public`: could be published outside the company (none of Bridge's events today);
- `internal`: pseudonymous ids, cohort facts, region, department, seniority, scores, timestamps;
- `personal`: identifies a person or is their own words (name, e-mail, employee id, free text, a
  calendar invite naming the attendees). **Always sealed** (crypto-shredding, `sealing.py`);
- `sensitive`: special care (private notes, feedback text). Never carried by an event.

An unmarked field is `internal`. The event as a whole carries the CloudEvents data-classification
extension attributes (`ce_dataclassification`, `ce_dataregulations`, `ce_datacategory`) computed from
its fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

Classification = Literal["public", "internal", "personal", "sensitive"]
LEVELS: tuple[Classification, ...] = ("public", "internal", "personal", "sensitive")
DEFAULT_CLASSIFICATION: Classification = "internal"

# The CloudEvents data-classification extension's vocabulary for the event as a whole.
CE_CLASSIFICATION: dict[Classification, str] = {
    "public": "public",
    "internal": "internal",
    "personal": "confidential",
    "sensitive": "restricted",
}
CE_CATEGORY: dict[Classification, str] = {
    "public": "non-sensitive",
    "internal": "non-sensitive",
    "personal": "standard",
    "sensitive": "sensitive",
}

SEALED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Sealed",
    "description": "A personal value, encrypted (AES-256-GCM) with a key derived from the keys of the "
    "people listed in `by` (participant ids). `sealed` is null when one of them was erased before "
    "the event was written. Readers with access to the key vault open it (docs/privacy.md); once any "
    "of them is erased, nobody can.",
    "required": ["by", "sealed"],
    "properties": {
        "by": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "sealed": {"type": ["string", "null"], "contentEncoding": "base64url"},
    },
}


@dataclass(frozen=True)
class Personal:
    """Marks a field as personal data, sealed on the wire under the keys of the people named by
    `by`: field names holding participant ids, looked up in the same object, else the event.

    `erased` is the value a reader gets once one of them has been erased (it must be valid for the
    field's type); `classification` is `personal` or `sensitive`.
    """

    by: tuple[str, ...]
    erased: Any = None
    classification: Classification = "personal"

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        opened = handler(core_schema)
        nullable = isinstance(opened, dict) and any(
            isinstance(o, dict) and o.get("type") == "null" for o in opened.get("anyOf", [])
        )
        sealed: dict[str, Any] = {
            **SEALED_SCHEMA,
            "x-classification": self.classification,
            "x-sealed-by": list(self.by),
            "x-opened": {k: v for k, v in opened.items() if k not in ("default", "title")},
        }
        if nullable:
            return {"anyOf": [sealed, {"type": "null"}], "x-classification": self.classification}
        return sealed


@dataclass(frozen=True)
class Classified:
    """Marks a plain (unsealed) field's classification when it is not the default `internal`."""

    classification: Classification

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        if isinstance(schema, dict):
            schema = {**schema, "x-classification": self.classification}
        return schema


def highest(levels: list[Classification]) -> Classification:
    return max(levels, key=LEVELS.index, default=DEFAULT_CLASSIFICATION)
