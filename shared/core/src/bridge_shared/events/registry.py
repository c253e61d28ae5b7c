"""Registry of event types: CloudEvents type -> payload model, topic and partition-key field.

The type carries the payload's major version (`...pair.formed.v1`); a breaking change adds a new
model and type, and an upcaster lets consumers read the old one as the new one (docs/events.md).

Producers are strict: a payload model forbids fields it does not declare, so building an event with
an unknown field fails. Readers are tolerant: `EventPayload.read` (what consumers decode with)
ignores fields the model does not know, at every depth, and still validates the fields it declares.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict

TYPE_PREFIX = "com.bridge"
SCHEMA_BASE_URL = "https://schemas.bridge.example/events"


class EventPayload(BaseModel):
    """Base of every event payload. Subclasses are registered with `@event(...)`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    topic: ClassVar[str]
    key_field: ClassVar[str]

    def partition_key(self) -> str:
        return str(getattr(self, self.key_field))

    @classmethod
    def read(cls, data: Any) -> Self:
        """Validates a received payload as a tolerant reader: fields this model does not declare
        (a newer producer's additions, in nested objects too) are ignored; declared ones are checked."""
        return cls.model_validate(data, extra="ignore")


@dataclass(frozen=True)
class EventSpec:
    type: str
    version: int
    model: builtins.type[EventPayload]
    topic: str
    key_field: str

    @property
    def dataschema(self) -> str:
        return f"{SCHEMA_BASE_URL}/{self.type}.json"


_REGISTRY: dict[str, EventSpec] = {}
_UPCASTERS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {}

P = TypeVar("P", bound=type[EventPayload])


def event(name: str, *, version: int, topic: str, key: str) -> Callable[[P], P]:
    """Register a payload model as event `com.bridge.<name>.v<version>`."""

    def register(model: P) -> P:
        etype = f"{TYPE_PREFIX}.{name}.v{version}"
        if etype in _REGISTRY:
            raise ValueError(f"event type registered twice: {etype}")
        if key not in model.__pydantic_fields__:
            raise ValueError(f"{model.__name__} has no key field {key!r}")
        model.event_type = etype
        model.topic = topic
        model.key_field = key
        _REGISTRY[etype] = EventSpec(etype, version, model, topic, key)
        return model

    return register


def upcaster(
    old_type: str, new_type: str
) -> Callable[[Callable[[dict[str, Any]], dict[str, Any]]], Callable[[dict[str, Any]], dict[str, Any]]]:
    """Register a function turning an old payload (as a dict) into the new type's payload."""

    def register(
        fn: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> Callable[[dict[str, Any]], dict[str, Any]]:
        _UPCASTERS[old_type] = (new_type, fn)
        return fn

    return register


_VERSIONED = re.compile(r"^(?P<family>.+)\.v(?P<version>[1-9][0-9]*)$")


def split_type(event_type: str) -> tuple[str, int] | None:
    """`com.bridge.matching.pair.formed.v2` -> (`com.bridge.matching.pair.formed`, 2); None if unversioned."""
    m = _VERSIONED.match(event_type)
    return (m["family"], int(m["version"])) if m else None


def is_bridge_type(event_type: str) -> bool:
    return event_type.startswith(TYPE_PREFIX + ".")


def upcast_target(event_type: str) -> str:
    """The type the upcasters turn `event_type` into (itself when none applies)."""
    seen: set[str] = set()
    while event_type in _UPCASTERS and event_type not in seen:
        seen.add(event_type)
        event_type = _UPCASTERS[event_type][0]
    return event_type


def spec_for(event_type: str) -> EventSpec | None:
    return _REGISTRY.get(event_type)


def upcast(event_type: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Follow upcasters until reaching a registered type (or none applies)."""
    seen: set[str] = set()
    while event_type in _UPCASTERS and event_type not in seen:
        seen.add(event_type)
        event_type, fn = _UPCASTERS[event_type]
        data = fn(data)
    return event_type, data


def all_specs() -> list[EventSpec]:
    return sorted(_REGISTRY.values(), key=lambda s: s.type)
