"""Surveys: a mid-point and a closing survey per side (satisfaction 1-5, likelihood to recommend
0-10 for NPS, what they learned, what they taught); when they open: app/feedback.py. Pulse ratings
are posted with sessions. Participants read their own feedback; HR reads all feedback of
relationships it can see."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StringConstraints

from bridge_sessions.api.deps import OnRelationship, on_relationship
from bridge_sessions.app import feedback as app
from bridge_sessions.domain.rows import FeedbackRow, Side
from bridge_shared.http.openapi import problems
from bridge_shared.types import MULTI_LINE

router = APIRouter(prefix="/relationships/{relationship_id}", tags=["feedback"])


Answer = Annotated[str, StringConstraints(max_length=5000), *MULTI_LINE]


class SurveyIn(BaseModel):
    satisfaction: int = Field(ge=1, le=5)
    recommend_score: int = Field(ge=0, le=10, description="How likely to recommend the programme (NPS)")
    learned: Answer = Field(description="what you learned")
    taught: Answer = Field(description="what you taught")
    comment: Answer | None = None


class FeedbackOut(BaseModel):
    id: UUID
    kind: Literal["pulse", "midpoint", "closing"]
    by_side: Side
    by_participant_id: str
    session_id: UUID | None
    rating: int | None
    recommend_score: int | None
    comment: str | None
    learned: str | None
    taught: str | None
    submitted_at: datetime


def to_out(row: FeedbackRow) -> FeedbackOut:
    return FeedbackOut.model_validate(asdict(row))


@router.post("/surveys/{kind}", response_model=FeedbackOut, status_code=201, responses=problems(404, 409))
async def submit_survey(
    kind: Literal["midpoint", "closing"],
    body: SurveyIn,
    on: OnRelationship = Depends(on_relationship),
) -> FeedbackOut:
    survey = app.Survey(
        satisfaction=body.satisfaction,
        recommend_score=body.recommend_score,
        learned=body.learned,
        taught=body.taught,
        comment=body.comment,
    )
    return to_out(await app.submit_survey(on.rt, on.relationship_id, on.principal, kind, survey))


@router.get("/feedback", response_model=list[FeedbackOut], responses=problems(404))
async def list_feedback(
    on: OnRelationship = Depends(on_relationship),
) -> list[FeedbackOut]:
    return [to_out(r) for r in await app.list_for(on.rt, on.relationship_id, on.principal)]
