"""What every sessions router depends on: the runtime typed with the sessions settings, and the
request's relationship (or circle) and caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias
from uuid import UUID

from fastapi import Depends

from bridge_sessions.settings import SessionsSettings
from bridge_shared.auth.dependencies import authenticate
from bridge_shared.auth.principal import Principal
from bridge_shared.http.params import PathIdentifier
from bridge_shared.runtime import Runtime, runtime_dependency

Rt: TypeAlias = Runtime[SessionsSettings]
get_runtime = runtime_dependency(SessionsSettings)


@dataclass(frozen=True, slots=True)
class OnRelationship:
    """A request about one relationship (path `relationship_id`) by an authenticated caller."""

    rt: Rt
    relationship_id: UUID
    principal: Principal


def on_relationship(
    relationship_id: UUID, principal: Principal = Depends(authenticate), rt: Rt = Depends(get_runtime)
) -> OnRelationship:
    return OnRelationship(rt, relationship_id, principal)


@dataclass(frozen=True, slots=True)
class OnCircle:
    """A request about one circle (path `circle_id`: matching's circle id) by an authenticated caller."""

    rt: Rt
    circle_id: str
    principal: Principal


def on_circle(
    circle_id: PathIdentifier, principal: Principal = Depends(authenticate), rt: Rt = Depends(get_runtime)
) -> OnCircle:
    return OnCircle(rt, circle_id, principal)
