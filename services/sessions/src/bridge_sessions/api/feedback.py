"""Surveys: a mid-point and a closing survey per side (satisfaction 1-5, likelihood to recommend
0-10 for NPS, what they learned, what they taught). Pulse ratings live with sessions.

The mid-point survey opens once the agreement is in force; the closing survey once the relationship
is within `ending_soon_days` of its end or has closed. Participants read their own feedback; HR reads
all feedback of relationships it can see."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from bridge_sessions.api.common import (
    Side,
    connection,
    get_clock,
    get_settings,
    load_access,
    rel_fields,
    subject,
    transaction,
)
from bridge_sessions.settings import SessionsSettings
from bridge_shared.auth.dependencies import authenticate
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.sessions import FeedbackSubmittedV1
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime
from bridge_shared.scheduling.clock import Clock

router = APIRouter(prefix="/relationships/{relationship_id}", tags=["feedback"])


class SurveyIn(BaseModel):
    satisfaction: int = Field(ge=1, le=5)
    recommend_score: int = Field(ge=0, le=10, description="How likely to recommend the programme (NPS)")
    learned: str = Field(min_length=1, max_length=5000, description="what you learned")
    taught: str = Field(min_length=1, max_length=5000, description="what you taught")
    comment: str | None = Field(None, max_length=5000)


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


@router.post("/surveys/{kind}", response_model=FeedbackOut, status_code=201)
async def submit_survey(
    relationship_id: UUID,
    kind: Literal["midpoint", "closing"],
    body: SurveyIn,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
    settings: SessionsSettings = Depends(get_settings),
) -> FeedbackOut:
    now, fid = clock.now(), uuid.uuid4()
    async with transaction(rt) as conn:
        acc = await load_access(conn, relationship_id, principal)
        side = acc.participant()
        rel = acc.rel
        if kind == "midpoint" and rel["status"] != "active":
            raise Problem(
                409,
                "Survey not open",
                "The mid-point survey opens once the agreement is in force "
                "and closes when the relationship ends.",
            )
        if kind == "closing" and rel["status"] != "closed":
            end = rel["planned_end"]
            if end is None or now.date() < end - timedelta(days=settings.ending_soon_days):
                raise Problem(
                    409,
                    "Survey not open",
                    "The closing survey opens near the end date or when the relationship ends.",
                )
        row = await conn.fetchrow(
            """INSERT INTO feedback (id, relationship_id, kind, by_side, by_participant_id, rating,
                      recommend_score, comment, learned, taught, submitted_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING RETURNING *""",
            fid,
            relationship_id,
            kind,
            side,
            acc.participant_id,
            body.satisfaction,
            body.recommend_score,
            body.comment,
            body.learned,
            body.taught,
            now,
        )
        if row is None:
            raise Problem(409, "Already submitted", f"You have already submitted the {kind} survey.")
        await rt.outbox.add(
            conn,
            FeedbackSubmittedV1(
                **rel_fields(rel),
                feedback_id=str(fid),
                kind=kind,
                by_participant_id=acc.participant_id,
                by_side=side,
                rating=body.satisfaction,
                recommend_score=body.recommend_score,
                submitted_at=now,
            ),
            subject=subject(rel),
        )
    return FeedbackOut.model_validate(dict(row))


@router.get("/feedback", response_model=list[FeedbackOut])
async def list_feedback(
    relationship_id: UUID, principal: Principal = Depends(authenticate), rt: Runtime = Depends(get_runtime)
) -> list[FeedbackOut]:
    async with connection(rt) as conn:
        acc = await load_access(conn, relationship_id, principal)
        rows = await conn.fetch(
            "SELECT * FROM feedback WHERE relationship_id = $1 AND ($2::text IS NULL OR by_side = $2) "
            "ORDER BY submitted_at, id",
            relationship_id,
            acc.side,
        )
    return [FeedbackOut.model_validate(dict(r)) for r in rows]
