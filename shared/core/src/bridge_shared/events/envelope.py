"""CloudEvents 1.0 envelope, carried in Kafka binary mode (`ce_*` headers, data as the value)."""

from __future__ import annotations

import builtins
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import from_json, to_json

from bridge_shared.events.registry import EventPayload, EventSpec, spec_for, upcast, upcast_target
from bridge_shared.privacy.classification import CE_CATEGORY, CE_CLASSIFICATION
from bridge_shared.privacy.sealing import (
    Keys,
    SealingError,
    classification_of,
    has_personal_fields,
    open_payload,
    seal_payload,
    subjects_to_open,
)

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
_CE = "ce_"


class EnvelopeError(ValueError):
    """A record that is not a valid Bridge CloudEvent; the reason goes to the dead-letter header."""


@dataclass(frozen=True, slots=True)
class CloudEventAttributes:
    """An event's CloudEvents attributes, as handlers see them."""

    id: str
    source: str
    type: str
    specversion: str
    time: datetime
    subject: str | None = None
    datacontenttype: str = CONTENT_TYPE
    dataschema: str | None = None


class _AttributesModel(BaseModel):
    """The rules for the attributes, applied (and worded) when the quick check refuses them."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(pattern=r"^[a-z0-9]+(\.[a-z0-9_-]+)+$")
    specversion: str = Field(pattern=r"^1\.0$")
    time: datetime
    subject: str | None = None
    datacontenttype: str = CONTENT_TYPE
    dataschema: str | None = None


@dataclass(frozen=True)
class OutgoingEvent:
    """A fully formed event, ready for the outbox or the broker."""

    id: str
    topic: str
    key: str
    type: str
    headers: dict[str, str]
    value: bytes


P = TypeVar("P", bound=EventPayload)


@dataclass(frozen=True)
class InboundEvent:
    """A decoded, validated event as handlers see it."""

    attributes: CloudEventAttributes
    payload: EventPayload
    topic: str
    partition: int
    offset: int
    key: str | None

    @property
    def id(self) -> str:
        return self.attributes.id

    @property
    def type(self) -> str:
        return self.attributes.type

    def payload_as(self, kind: builtins.type[P]) -> P:
        """The payload as `kind`, checked once (a handler registered for `kind` always gets one)."""
        if not isinstance(self.payload, kind):
            raise TypeError(f"{self.type} carries {type(self.payload).__name__}, not {kind.__name__}")
        return self.payload


def build_event(
    payload: EventPayload,
    *,
    source: str,
    subject: str | None = None,
    time: datetime | None = None,
    event_id: str | None = None,
    schema_base_url: str | None = None,
    keys: Keys | None = None,
) -> OutgoingEvent:
    """`schema_base_url`: where the producing service serves its event schemas (`ce_dataschema` is
    `<base>/<type>.json`); without it, the schema's registry id. `keys`: the people's keys (from the
    key vault) when the payload has personal fields, which are sealed under them; the Outbox fetches
    them in the writing transaction."""
    spec = spec_for(payload.event_type)
    if spec is None:
        raise ValueError(f"unregistered event payload {type(payload).__name__}")
    eid = event_id or str(uuid.uuid4())
    when = (time or datetime.now(UTC)).astimezone(UTC)
    headers = {
        "ce_specversion": SPECVERSION,
        "ce_id": eid,
        "ce_source": source,
        "ce_type": spec.type,
        "ce_time": when.isoformat().replace("+00:00", "Z"),
        "ce_dataschema": (
            f"{schema_base_url.rstrip('/')}/{spec.type}.json" if schema_base_url else spec.dataschema
        ),
        # CloudEvents Kafka partitioning extension: the aggregate id, also the record's key.
        "ce_partitionkey": payload.partition_key(),
        "content-type": CONTENT_TYPE,
    }
    level = classification_of(type(payload))
    # CloudEvents data-classification extension: the event's level, category and regulations.
    headers["ce_dataclassification"] = CE_CLASSIFICATION[level]
    headers["ce_datacategory"] = CE_CATEGORY[level]
    if level in ("personal", "sensitive"):
        headers["ce_dataregulations"] = "GDPR"
    if subject is not None:
        headers["ce_subject"] = subject
    if has_personal_fields(type(payload)):
        if keys is None:
            raise ValueError(f"{spec.type} has personal fields: pass the people's keys (the Outbox does)")
        data = seal_payload(type(payload), payload.model_dump(mode="json"), keys)
        value = to_json(data)  # compact UTF-8, as model_dump_json writes the unsealed types
    else:
        value = payload.model_dump_json().encode()
    return OutgoingEvent(eid, spec.topic, payload.partition_key(), spec.type, headers, value)


_TYPE_SHAPE = re.compile(r"^[a-z0-9]+(\.[a-z0-9_-]+)+$")
_ATTRIBUTES = frozenset(f.name for f in fields(CloudEventAttributes))


_HEADER_ATTRIBUTE = {f"{_CE}{name}": name for name in _ATTRIBUTES}
"""The headers that carry a CloudEvents attribute of `CloudEventAttributes`; other `ce_` headers are
extensions (classification, partition key), which handlers read from the record if they need them."""


_HEADER_ITEMS = (*_HEADER_ATTRIBUTE.items(), ("content-type", "datacontenttype"))
"""Looked up by name, in this order: the Kafka binding's `content-type` header comes last, so it wins
over `ce_datacontenttype`."""
_REQUIRED = frozenset(("id", "source", "type", "specversion", "time"))
_ABSENT = object()
_BYTES = (bytes, bytearray)  # a tuple: `bytes | bytearray` would build a union on every call


def parse_attributes(
    headers: Mapping[str, Any] | Iterable[tuple[str, bytes | str | None]],
) -> CloudEventAttributes:
    """The CloudEvents attributes of a record's headers (a mapping, or Kafka's (name, value) pairs; a
    repeated header counts once, its last value). Raises EnvelopeError, worded for the dead letter."""
    # A dict of every header, then one look-up per attribute: cheaper than walking a dozen headers
    # in Python (it runs once per record consumed, on every consumer and in the rebuild).
    by_name = headers if isinstance(headers, Mapping) else dict(headers)
    known: dict[str, str] = {}
    for header, name in _HEADER_ITEMS:
        v = by_name.get(header, _ABSENT)
        if v is not _ABSENT:
            known[name] = v.decode("utf-8", "replace") if isinstance(v, _BYTES) else str(v)
    if not known.keys() >= _REQUIRED:
        missing = sorted(_REQUIRED - known.keys())
        raise EnvelopeError(f"missing CloudEvents attributes: {', '.join(missing)}")
    quick = _well_formed(known)
    if quick is not None:
        return quick
    try:
        model = _AttributesModel.model_validate(known)
    except ValidationError as exc:
        raise EnvelopeError(f"invalid CloudEvents attributes: {_brief(exc)}") from exc
    return CloudEventAttributes(**model.model_dump())


@lru_cache(maxsize=1024)
def _type_well_formed(event_type: str) -> bool:
    """The type rule, remembered: a topic carries a few dozen types (bounded, against a flood of
    made-up ones)."""
    return _TYPE_SHAPE.match(event_type) is not None


def _well_formed(attrs: dict[str, str]) -> CloudEventAttributes | None:
    """The attributes, checked by hand, when they are as Bridge writes them (every record but a
    malformed one): the model's rules, in a microsecond instead of twenty. None sends the record
    through the model, which words the error."""
    if not (attrs["id"] and attrs["source"] and attrs["specversion"] == SPECVERSION):
        return None
    if not _type_well_formed(attrs["type"]):
        return None
    try:
        when = datetime.fromisoformat(attrs["time"])
    except ValueError:
        return None
    if when.tzinfo is None:
        return None  # the model's parser decides what a zone-less time means
    return CloudEventAttributes(
        attrs["id"],
        attrs["source"],
        attrs["type"],
        attrs["specversion"],
        when,
        attrs.get("subject"),
        attrs.get("datacontenttype", CONTENT_TYPE),
        attrs.get("dataschema"),
    )


def _parse_body(value: bytes | None) -> dict[str, Any]:
    try:
        data = from_json(value or b"")  # pydantic-core's parser: half json.loads's time on an event
    except ValueError as exc:
        raise EnvelopeError(f"data is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise EnvelopeError("data must be a JSON object")
    return data


def _validated(spec: EventSpec, data: dict[str, Any], keys: Keys | None) -> EventPayload:
    if has_personal_fields(spec.model):
        if keys is None:
            raise ValueError(f"{spec.type} has sealed fields: decode it with the people's keys")
        try:
            open_payload(spec.model, data, keys)
        except SealingError as exc:
            raise EnvelopeError(f"payload of {spec.type}: {exc}") from exc
    try:
        return spec.model.read(data)  # tolerant reader: unknown fields are ignored
    except ValidationError as exc:
        raise EnvelopeError(f"payload does not match {spec.type}: {_brief(exc)}") from exc


@dataclass(frozen=True, slots=True)
class PreparedPayload:
    """The first half of decoding, so a batch can fetch every record's keys with one query: the
    event's spec and, for a type with sealed fields or an older version, its body parsed and upcast
    with the people its fields are sealed under. Any other body stays as bytes: `finish_payload`
    validates it straight from JSON in one pass."""

    spec: EventSpec
    data: dict[str, Any] | None
    subjects: frozenset[str]
    raw: bytes | None = None


def prepare_payload(attributes: CloudEventAttributes, value: bytes | None) -> PreparedPayload:
    """Checks the content type and finds the spec; parses and upcasts the body when it must be
    opened or upcast. Raises EnvelopeError when it is not a valid event body."""
    if attributes.datacontenttype.split(";")[0].strip() != CONTENT_TYPE:
        raise EnvelopeError(f"unsupported datacontenttype {attributes.datacontenttype!r}")
    direct = spec_for(attributes.type)
    if (
        direct is not None
        and upcast_target(attributes.type) == attributes.type
        and not has_personal_fields(direct.model)
    ):
        return PreparedPayload(direct, None, frozenset(), value or b"")
    data = _parse_body(value)
    etype, data = upcast(attributes.type, data)
    spec = spec_for(etype)
    if spec is None:
        raise EnvelopeError(f"unknown event type {attributes.type!r}")
    subjects = subjects_to_open(spec.model, data) if has_personal_fields(spec.model) else set()
    return PreparedPayload(spec, data, frozenset(subjects))


def finish_payload(prepared: PreparedPayload, keys: Keys) -> EventPayload:
    """The validated payload, its sealed fields opened with `keys` (which hold at least the
    prepared subjects'); raises EnvelopeError."""
    spec = prepared.spec
    if prepared.data is None:
        raw = prepared.raw or b""
        try:
            return spec.model.model_validate_json(raw, extra="ignore")  # tolerant reader, one pass
        except ValidationError:
            # Worded as the two-step path words it (not JSON, not an object, which field).
            return _validated(spec, _parse_body(raw), None)
    return _validated(spec, prepared.data, keys if has_personal_fields(spec.model) else None)


def decode_payload(
    attributes: CloudEventAttributes, value: bytes | None, keys: Keys | None = None
) -> EventPayload:
    """The validated payload. Events with sealed fields need `keys` (see `open_event_payload`)."""
    prepared = prepare_payload(attributes, value)
    if keys is None and has_personal_fields(prepared.spec.model):
        raise ValueError(f"{prepared.spec.type} has sealed fields: decode it with the people's keys")
    return finish_payload(prepared, keys or {})


KeySource = Callable[[set[str]], Awaitable[Keys]]


async def open_event_payload(
    attributes: CloudEventAttributes, value: bytes | None, keys_for: KeySource
) -> EventPayload:
    """The validated payload with its sealed fields opened: `keys_for` is asked (once) for the keys
    of the people they are sealed under; an erased person's fields read as their `erased` value."""
    prepared = prepare_payload(attributes, value)
    keys = await keys_for(set(prepared.subjects)) if prepared.subjects else {}
    return finish_payload(prepared, keys)


def _brief(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
