"""Registry of event types: CloudEvents type -> payload model, topic and partition-key field.

The type carries the payload's major version (`...pair.formed.v1`); a breaking change adds a new
model and type, and an upcaster lets consumers read the old one as the new one.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

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
