"""What every relationship-scoped endpoint needs: who the caller is to this relationship, the clock."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import asyncpg
from fastapi import Depends

from bridge_sessions.settings import SessionsSettings
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.db import connection as db
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime
from bridge_shared.scheduling.clock import Clock

Side = Literal["mentor", "mentee"]


def connection(rt: Runtime) -> AbstractAsyncContextManager[asyncpg.Connection[Any]]:
    return db.connection(rt.pool)


def transaction(rt: Runtime) -> AbstractAsyncContextManager[asyncpg.Connection[Any]]:
    return db.transaction(rt.pool)


def get_clock(rt: Runtime = Depends(get_runtime)) -> Clock:
    clock: Clock = rt.clock
    return clock


def get_settings(rt: Runtime = Depends(get_runtime)) -> SessionsSettings:
    assert isinstance(rt.settings, SessionsSettings)
    return rt.settings


def side_of(principal: Principal, rel: Any) -> Side | None:
    if Role.PARTICIPANT not in principal.roles:
        return None
    if principal.subject == rel["mentor_employee_id"]:
        return "mentor"
    if principal.subject == rel["mentee_employee_id"]:
        return "mentee"
    return None


@dataclass(frozen=True)
class Access:
    """The caller's standing on one relationship, decided service-side from the stored pair."""

    rel: Any
    principal: Principal
    side: Side | None

    @property
    def is_participant(self) -> bool:
        return self.side is not None

    @property
    def participant_id(self) -> str:
        assert self.side is not None
        return str(self.rel[f"{self.side}_id"])

    def participant(self) -> Side:
        if self.side is None:
            raise Problem(403, "Forbidden", "Only the two participants of this relationship can do this.")
        return self.side

    def open(self) -> None:
        if self.rel["status"] == "closed":
            raise Problem(409, "Relationship closed", "This relationship has ended.")


async def load_access(
    conn: asyncpg.Connection[Any], relationship_id: UUID, principal: Principal, *, for_update: bool = False
) -> Access:
    """404 unless the caller is one of the pair or HR for the pair's region (existence is not leaked)."""
    sql = "SELECT * FROM relationships WHERE id = $1" + (" FOR UPDATE" if for_update else "")
    rel = await conn.fetchrow(sql, relationship_id)
    if rel is None:
        raise Problem(404, "Relationship not found")
    side = side_of(principal, rel)
    if side is None and not principal.can_see_region(rel["region"]):
        raise Problem(404, "Relationship not found")
    return Access(rel, principal, side)


def rel_fields(rel: Any) -> dict[str, str]:
    return {"relationship_id": str(rel["id"]), "pair_id": rel["pair_id"], "cohort_id": rel["cohort_id"]}


def subject(rel: Any) -> str:
    return f"relationship/{rel['id']}"
