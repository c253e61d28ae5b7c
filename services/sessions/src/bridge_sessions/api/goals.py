"""Goals: each side owns its own; progress check-ins (self-rating 1-5 + note) over time; a goal
ends achieved or abandoned. Both participants and HR can read; only the owner changes a goal."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from bridge_sessions.api.common import (
    Access,
    Side,
    connection,
    get_clock,
    load_access,
    rel_fields,
    subject,
    transaction,
)
from bridge_shared.auth.dependencies import authenticate
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.sessions import GoalAbandonedV1, GoalAchievedV1, GoalProgressedV1, GoalSetV1
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime
from bridge_shared.scheduling.clock import Clock

router = APIRouter(prefix="/relationships/{relationship_id}/goals", tags=["goals"])


class GoalIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    success_measure: str | None = Field(None, max_length=500, description="how you will know")


class CheckInIn(BaseModel):
    rating: int = Field(ge=1, le=5, description="self-rating of progress")
    note: str | None = Field(None, max_length=2000)


class CloseGoalIn(BaseModel):
    note: str | None = Field(None, max_length=2000)


class CheckInOut(BaseModel):
    id: UUID
    rating: int
    note: str | None
    at: datetime


class GoalOut(BaseModel):
    id: UUID
    owner_side: Side
    owner_participant_id: str
    title: str
    description: str | None
    success_measure: str | None
    status: Literal["open", "achieved", "abandoned"]
    created_at: datetime
    closed_at: datetime | None
    close_note: str | None
    latest_rating: int | None
    check_ins: list[CheckInOut]


async def _goal_out(conn: asyncpg.Connection[Any], g: Any) -> GoalOut:
    checks = [
        CheckInOut.model_validate(dict(c))
        for c in await conn.fetch(
            "SELECT id, rating, note, at FROM goal_checkins WHERE goal_id = $1 ORDER BY at, id", g["id"]
        )
    ]
    return GoalOut.model_validate(
        {**dict(g), "check_ins": checks, "latest_rating": checks[-1].rating if checks else None}
    )


async def _own_goal(conn: asyncpg.Connection[Any], acc: Access, goal_id: UUID) -> Any:
    side = acc.participant()
    g: Any = await conn.fetchrow(
        "SELECT * FROM goals WHERE id = $1 AND relationship_id = $2 FOR UPDATE", goal_id, acc.rel["id"]
    )
    if g is None:
        raise Problem(404, "Goal not found")
    if g["owner_side"] != side:
        raise Problem(403, "Forbidden", "Only the goal's owner can change it.")
    if g["status"] != "open":
        raise Problem(409, "Goal closed", f"This goal is {g['status']}.")
    return g


def _goal_fields(acc: Access, g: Any) -> dict[str, Any]:
    return {
        **rel_fields(acc.rel),
        "goal_id": str(g["id"]),
        "owner_participant_id": g["owner_participant_id"],
        "owner_side": g["owner_side"],
    }


@router.get("", response_model=list[GoalOut])
async def list_goals(
    relationship_id: UUID, principal: Principal = Depends(authenticate), rt: Runtime = Depends(get_runtime)
) -> list[GoalOut]:
    async with connection(rt) as conn:
        await load_access(conn, relationship_id, principal)
        rows = await conn.fetch(
            "SELECT * FROM goals WHERE relationship_id = $1 ORDER BY created_at, id", relationship_id
        )
        return [await _goal_out(conn, g) for g in rows]


@router.post("", response_model=GoalOut, status_code=201)
async def set_goal(
    relationship_id: UUID,
    body: GoalIn,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> GoalOut:
    async with transaction(rt) as conn:
        acc = await load_access(conn, relationship_id, principal)
        side = acc.participant()
        acc.open()
        g: Any = await conn.fetchrow(
            """INSERT INTO goals (id, relationship_id, owner_side, owner_participant_id, title, description,
                      success_measure, status, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8) RETURNING *""",
            uuid.uuid4(),
            relationship_id,
            side,
            acc.participant_id,
            body.title,
            body.description,
            body.success_measure,
            clock.now(),
        )
        await rt.outbox.add(
            conn, GoalSetV1(**_goal_fields(acc, g), title=g["title"]), subject=subject(acc.rel)
        )
        return await _goal_out(conn, g)


@router.post("/{goal_id}/check-ins", response_model=GoalOut, status_code=201)
async def check_in(
    relationship_id: UUID,
    goal_id: UUID,
    body: CheckInIn,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> GoalOut:
    async with transaction(rt) as conn:
        acc = await load_access(conn, relationship_id, principal)
        g = await _own_goal(conn, acc, goal_id)
        await conn.execute(
            "INSERT INTO goal_checkins (id, goal_id, rating, note, at) VALUES ($1, $2, $3, $4, $5)",
            uuid.uuid4(),
            goal_id,
            body.rating,
            body.note,
            clock.now(),
        )
        await rt.outbox.add(
            conn, GoalProgressedV1(**_goal_fields(acc, g), rating=body.rating), subject=subject(acc.rel)
        )
        return await _goal_out(conn, g)


async def _close(
    relationship_id: UUID,
    goal_id: UUID,
    outcome: Literal["achieved", "abandoned"],
    note: str | None,
    principal: Principal,
    rt: Runtime,
    clock: Clock,
) -> GoalOut:
    async with transaction(rt) as conn:
        acc = await load_access(conn, relationship_id, principal)
        g = await _own_goal(conn, acc, goal_id)
        g = await conn.fetchrow(
            "UPDATE goals SET status = $2, closed_at = $3, close_note = $4 WHERE id = $1 RETURNING *",
            goal_id,
            outcome,
            clock.now(),
            note,
        )
        evt = (
            GoalAchievedV1(**_goal_fields(acc, g))
            if outcome == "achieved"
            else GoalAbandonedV1(**_goal_fields(acc, g), reason=note)
        )
        await rt.outbox.add(conn, evt, subject=subject(acc.rel))
        return await _goal_out(conn, g)


@router.post("/{goal_id}/achieve", response_model=GoalOut)
async def achieve(
    relationship_id: UUID,
    goal_id: UUID,
    body: CloseGoalIn,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> GoalOut:
    return await _close(relationship_id, goal_id, "achieved", body.note, principal, rt, clock)


@router.post("/{goal_id}/abandon", response_model=GoalOut)
async def abandon(
    relationship_id: UUID,
    goal_id: UUID,
    body: CloseGoalIn,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> GoalOut:
    return await _close(relationship_id, goal_id, "abandoned", body.note, principal, rt, clock)
