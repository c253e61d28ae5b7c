"""Relationships: participants see their own, HR sees those in their regions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from bridge_shared.auth.dependencies import authenticate
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime

router = APIRouter(prefix="/relationships", tags=["relationships"])


class RelationshipOut(BaseModel):
    id: UUID
    pair_id: str
    cohort_id: str
    mentor_id: str
    mentor_name: str
    mentee_id: str
    mentee_name: str
    region: str
    status: str
    planned_end: date | None
    started_at: datetime


def visible(principal: Principal, row: Any) -> bool:
    if principal.can_see_region(row["region"]):
        return True
    return Role.PARTICIPANT in principal.roles and principal.subject in (
        row["mentor_employee_id"], row["mentee_employee_id"])


@router.get("", response_model=list[RelationshipOut])
async def list_relationships(
    cohort_id: str | None = Query(None),
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
) -> list[RelationshipOut]:
    async with rt.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT * FROM relationships WHERE ($1::text IS NULL OR cohort_id = $1) ORDER BY started_at, id",
            cohort_id,
        )
    return [RelationshipOut.model_validate(dict(r)) for r in rows if visible(principal, r)]


@router.get("/{relationship_id}", response_model=RelationshipOut)
async def get_relationship(
    relationship_id: UUID, principal: Principal = Depends(authenticate), rt: Runtime = Depends(get_runtime)
) -> RelationshipOut:
    async with rt.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM relationships WHERE id = $1", relationship_id)
    if row is None or not visible(principal, row):
        raise Problem(404, "Relationship not found")
    return RelationshipOut.model_validate(dict(row))
