"""Goals: each side owns its own; progress check-ins (self-rating 1-5 + note) over time; a goal
ends achieved or abandoned. Both participants and HR can read; only the owner changes a goal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from bridge_sessions.app.access import Access, load_access, participant_access
from bridge_sessions.db import Conn
from bridge_sessions.db import goals as goals_db
from bridge_sessions.domain.refs import RelationshipFields, relationship_fields, subject
from bridge_sessions.domain.rows import CheckInRow, GoalRow, Side
from bridge_sessions.settings import SessionsSettings
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.sessions import GoalAbandonedV2, GoalAchievedV1, GoalProgressedV1, GoalSetV2
from bridge_shared.db.connection import connection, transaction
from bridge_shared.errors import Problem
from bridge_shared.runtime import Runtime

Rt = Runtime[SessionsSettings]


class GoalFields(RelationshipFields):
    goal_id: str
    owner_participant_id: str
    owner_side: Side


@dataclass(frozen=True, slots=True)
class Goal:
    row: GoalRow
    check_ins: list[CheckInRow]


async def _with_check_ins(conn: Conn, g: GoalRow) -> Goal:
    return Goal(g, await goals_db.check_ins(conn, g.id))


async def _own_open_goal(conn: Conn, acc: Access, side: Side, goal_id: UUID) -> GoalRow:
    g = await goals_db.get_for_update(conn, acc.rel.id, goal_id)
    if g is None:
        raise Problem(404, "Goal not found")
    if g.owner_side != side:
        raise Problem(403, "Forbidden", "Only the goal's owner can change it.")
    if g.status != "open":
        raise Problem(409, "Goal closed", f"This goal is {g.status}.")
    return g


def _fields(acc: Access, g: GoalRow) -> GoalFields:
    return {
        **relationship_fields(acc.rel),
        "goal_id": str(g.id),
        "owner_participant_id": g.owner_participant_id,
        "owner_side": g.owner_side,
    }


def _pair(acc: Access) -> dict[str, str]:
    """Both people of the relationship: a goal's free text is sealed under both their keys."""
    return {"mentor_id": acc.rel.mentor_id, "mentee_id": acc.rel.mentee_id}


async def list_for(rt: Rt, relationship_id: UUID, principal: Principal) -> list[Goal]:
    async with connection(rt.pool) as conn:
        await load_access(conn, relationship_id, principal)
        return [
            await _with_check_ins(conn, g) for g in await goals_db.for_relationship(conn, relationship_id)
        ]


async def get_one(rt: Rt, relationship_id: UUID, goal_id: UUID, principal: Principal) -> Goal:
    """One goal of a relationship the caller may read (the same access as the list)."""
    async with connection(rt.pool) as conn:
        await load_access(conn, relationship_id, principal)
        g = await goals_db.get(conn, relationship_id, goal_id)
        if g is None:
            raise Problem(404, "Goal not found", "This relationship has no goal with that id.")
        return await _with_check_ins(conn, g)


async def set_goal(
    rt: Rt,
    relationship_id: UUID,
    principal: Principal,
    *,
    title: str,
    description: str | None,
    success_measure: str | None,
) -> Goal:
    async with transaction(rt.pool) as conn:
        acc, side = await participant_access(conn, relationship_id, principal)
        g = await goals_db.insert(
            conn,
            goal_id=uuid.uuid4(),
            relationship_id=relationship_id,
            owner_side=side,
            owner_participant_id=acc.participant_id,
            title=title,
            description=description,
            success_measure=success_measure,
            now=rt.clock.now(),
        )
        await rt.outbox.add(
            conn, GoalSetV2(**_fields(acc, g), **_pair(acc), title=g.title), subject=subject(acc.rel)
        )
        return await _with_check_ins(conn, g)


async def check_in(
    rt: Rt, relationship_id: UUID, goal_id: UUID, principal: Principal, *, rating: int, note: str | None
) -> Goal:
    async with transaction(rt.pool) as conn:
        acc, side = await participant_access(conn, relationship_id, principal, open_only=False)
        g = await _own_open_goal(conn, acc, side, goal_id)
        await goals_db.add_check_in(
            conn, check_in_id=uuid.uuid4(), goal_id=goal_id, rating=rating, note=note, now=rt.clock.now()
        )
        await rt.outbox.add(
            conn, GoalProgressedV1(**_fields(acc, g), rating=rating), subject=subject(acc.rel)
        )
        return await _with_check_ins(conn, g)


async def close(
    rt: Rt,
    relationship_id: UUID,
    goal_id: UUID,
    principal: Principal,
    *,
    outcome: Literal["achieved", "abandoned"],
    note: str | None,
) -> Goal:
    async with transaction(rt.pool) as conn:
        acc, side = await participant_access(conn, relationship_id, principal, open_only=False)
        await _own_open_goal(conn, acc, side, goal_id)
        g = await goals_db.close(conn, goal_id, outcome=outcome, note=note, now=rt.clock.now())
        event = (
            GoalAchievedV1(**_fields(acc, g))
            if outcome == "achieved"
            else GoalAbandonedV2(**_fields(acc, g), **_pair(acc), reason=note)
        )
        await rt.outbox.add(conn, event, subject=subject(acc.rel))
        return await _with_check_ins(conn, g)
