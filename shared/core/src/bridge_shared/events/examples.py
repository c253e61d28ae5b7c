"""A canonical example payload for every event type, built from its model's JSON Schema.

Used by the AsyncAPI documents (message examples), the events catalogue and tests. Values are
chosen by format and field name (ids, emails, time zones, locales) and checked against the model.
"""

from __future__ import annotations

from typing import Any

from bridge_shared.events.registry import EventPayload
from bridge_shared.privacy.sealing import has_personal_fields, seal_payload, subjects_to_seal

_STRINGS_BY_FORMAT = {
    "date-time": "2027-03-01T09:30:00Z",
    "date": "2027-03-01",
    "time": "09:30:00",
    "email": "ada.lovelace@example.com",
    "uri": "https://bridge.example.com/",
    "uuid": "7d9f3c2e-5b1a-4c8e-9f00-2a6b1c3d4e5f",
    "duration": "PT1H",
}
_STRINGS_BY_NAME = {
    "timezone": "Europe/Berlin",
    "time_zone": "Europe/Berlin",
    "locale": "en",
    "region": "emea",
    "language": "en",
}


def _string(name: str, schema: dict[str, Any]) -> str:
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _STRINGS_BY_FORMAT:
        return _STRINGS_BY_FORMAT[fmt]
    if name in _STRINGS_BY_NAME:
        return _STRINGS_BY_NAME[name]
    if name.endswith("_id") or name == "id":
        value = f"{name.removesuffix('_id').replace('_', '-') or 'id'}-42"
    elif name.endswith("_email") or name == "email":
        value = "ada.lovelace@example.com"
    else:
        value = name.replace("_", " ") or "text"
    max_len = schema.get("maxLength")
    if isinstance(max_len, int):
        value = value[:max_len]
    min_len = schema.get("minLength")
    if isinstance(min_len, int) and len(value) < min_len:
        value = value.ljust(min_len, "x")
    return value


def _value(name: str, schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> Any:
    if depth > 8:
        return None
    if "$ref" in schema:
        ref = str(schema["$ref"]).rsplit("/", 1)[-1]
        return _value(name, defs[ref], defs, depth + 1)
    if isinstance(schema.get("x-opened"), dict):  # a sealed personal field: the model holds it opened
        return _value(name, schema["x-opened"], defs, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for combo in ("anyOf", "oneOf"):
        if combo in schema:
            options = [o for o in schema[combo] if o.get("type") != "null"] or schema[combo]
            return _value(name, options[0], defs, depth + 1)
    if "allOf" in schema:
        return _value(name, schema["allOf"][0], defs, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props: dict[str, Any] = schema.get("properties", {})
        if props:
            return {k: _value(k, v, defs, depth + 1) for k, v in props.items()}
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return {"key": _value("key", extra, defs, depth + 1)}
        return {}
    if kind == "array":
        items = schema.get("items")
        count = max(1, int(schema.get("minItems", 1)))
        if isinstance(items, dict):
            return [_value(name.removesuffix("s"), items, defs, depth + 1) for _ in range(count)]
        return []
    if kind == "string":
        return _string(name, schema)
    if kind == "integer":
        if "minimum" in schema:
            return int(schema["minimum"])
        return int(schema["exclusiveMinimum"]) + 1 if "exclusiveMinimum" in schema else 1
    if kind == "number":
        return float(schema.get("minimum", 0.5))
    if kind == "boolean":
        return True
    if "default" in schema:
        return schema["default"]
    return None


SEALED_EXAMPLE = "c2VhbGVkIHdpdGggdGhlIHBlb3BsZSdzIGtleXM"
"""Stands for a sealed value in examples (fixed, so generated documents are stable)."""


def _sealed_examples(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"by", "sealed"} and value["sealed"] is None:
            return {"by": value["by"], "sealed": SEALED_EXAMPLE}
        return {k: _sealed_examples(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sealed_examples(v) for v in value]
    return value


def example_payload(model: type[EventPayload]) -> dict[str, Any]:
    """A payload of `model` as its model holds it (JSON), every field filled; checked by the model.
    Personal fields are plain here; `wire_example` shows them sealed, as they travel."""
    schema = model.model_json_schema(mode="serialization")
    raw = _value("", schema, schema.get("$defs", {}))
    instance = model.model_validate(raw)
    dumped: dict[str, Any] = instance.model_dump(mode="json")
    return dumped


def wire_example(model: type[EventPayload]) -> dict[str, Any]:
    """`example_payload` as it appears on the wire: personal fields sealed (a fixed placeholder)."""
    dumped = example_payload(model)
    if not has_personal_fields(model):
        return dumped
    keys = dict.fromkeys(subjects_to_seal(model, dumped))  # no keys: sealed as null, then the example
    sealed: dict[str, Any] = _sealed_examples(seal_payload(model, dumped, keys))
    return sealed
