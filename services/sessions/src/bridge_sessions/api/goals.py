"""Goals: each side owns its own; progress check-ins (self-rating 1-5 + note) over time; a goal
ends achieved or abandoned. Both participants and HR can read; only the owner changes a goal."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from bridge_sessions.api.deps import OnRelationship, on_relationship
from bridge_sessions.app import goals as app
from bridge_sessions.domain.rows import Side
from bridge_shared.http.openapi import problems
from bridge_shared.types import MediumText, Phrase, ShortText

router = APIRouter(prefix="/relationships/{relationship_id}/goals", tags=["goals"])


class GoalIn(BaseModel):
    title: ShortText
    description: MediumText | None = None
    success_measure: Phrase | None = Field(None, description="how you will know")


class CheckInIn(BaseModel):
    rating: int = Field(ge=1, le=5, description="self-rating of progress")
    note: MediumText | None = None


class CloseGoalIn(BaseModel):
    note: MediumText | None = None


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


def to_out(goal: app.Goal) -> GoalOut:
    checks = [CheckInOut.model_validate(asdict(c)) for c in goal.check_ins]
    return GoalOut.model_validate(
        {**asdict(goal.row), "check_ins": checks, "latest_rating": checks[-1].rating if checks else None}
    )


@router.get("", response_model=list[GoalOut], responses=problems(404))
async def list_goals(
    on: OnRelationship = Depends(on_relationship),
) -> list[GoalOut]:
    return [to_out(g) for g in await app.list_for(on.rt, on.relationship_id, on.principal)]


@router.post("", response_model=GoalOut, status_code=201, responses=problems(404, 409))
async def set_goal(
    body: GoalIn,
    on: OnRelationship = Depends(on_relationship),
) -> GoalOut:
    return to_out(
        await app.set_goal(
            on.rt,
            on.relationship_id,
            on.principal,
            title=body.title,
            description=body.description,
            success_measure=body.success_measure,
        )
    )


@router.get("/{goal_id}", response_model=GoalOut, responses=problems(404))
async def get_goal(
    goal_id: UUID,
    on: OnRelationship = Depends(on_relationship),
) -> GoalOut:
    """One goal with its check-ins; readable by whoever may read the relationship's goals."""
    return to_out(await app.get_one(on.rt, on.relationship_id, goal_id, on.principal))


@router.post("/{goal_id}/check-ins", response_model=GoalOut, status_code=201, responses=problems(404, 409))
async def check_in(
    goal_id: UUID,
    body: CheckInIn,
    on: OnRelationship = Depends(on_relationship),
) -> GoalOut:
    return to_out(
        await app.check_in(
            on.rt, on.relationship_id, goal_id, on.principal, rating=body.rating, note=body.note
        )
    )


@router.post("/{goal_id}/achieve", response_model=GoalOut, responses=problems(404, 409))
async def achieve(
    goal_id: UUID,
    body: CloseGoalIn,
    on: OnRelationship = Depends(on_relationship),
) -> GoalOut:
    return to_out(
        await app.close(on.rt, on.relationship_id, goal_id, on.principal, outcome="achieved", note=body.note)
    )


@router.post("/{goal_id}/abandon", response_model=GoalOut, responses=problems(404, 409))
async def abandon(
    goal_id: UUID,
    body: CloseGoalIn,
    on: OnRelationship = Depends(on_relationship),
) -> GoalOut:
    return to_out(
        await app.close(on.rt, on.relationship_id, goal_id, on.principal, outcome="abandoned", note=body.note)
    )
