"""The relationship agreement: what each side wants to learn and how they will measure it, cadence,
where and how they meet, rules of engagement, start and end dates (the rules: app/agreements.py)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field, model_validator

from bridge_sessions.api.deps import OnRelationship, on_relationship
from bridge_sessions.app import agreements as app
from bridge_sessions.domain.rows import AgreementRow, AgreementTerms, LearningPlanData
from bridge_shared.http.openapi import problems
from bridge_shared.types import MAX_INT32, MediumText, Phrase

router = APIRouter(prefix="/relationships/{relationship_id}/agreement", tags=["agreements"])


class LearningPlan(BaseModel):
    learning_goals: list[Phrase] = Field(
        min_length=1, max_length=10, description="what this side wants to learn"
    )
    success_metrics: list[Phrase] = Field(
        min_length=1, max_length=10, description="how growth will be measured"
    )
    offers: MediumText | None = Field(None, description="how this side will help the other")

    def data(self) -> LearningPlanData:
        return {
            "learning_goals": self.learning_goals,
            "success_metrics": self.success_metrics,
            "offers": self.offers,
        }


class AgreementIn(BaseModel):
    mentor: LearningPlan
    mentee: LearningPlan
    cadence_days: int = Field(ge=1, le=180, description="meet every N days")
    meeting_mode: Literal["in_person", "video", "phone", "hybrid"]
    meeting_place: Phrase | None = None
    rules_of_engagement: list[Phrase] = Field(default_factory=list, max_length=20)
    start_date: date
    end_date: date

    @model_validator(mode="after")
    def _dates(self) -> AgreementIn:
        if self.end_date <= self.start_date:
            raise ValueError("end_date must be after start_date")
        return self

    def terms(self) -> AgreementTerms:
        return AgreementTerms(
            mentor_learning=self.mentor.data(),
            mentee_learning=self.mentee.data(),
            cadence_days=self.cadence_days,
            meeting_mode=self.meeting_mode,
            meeting_place=self.meeting_place,
            rules_of_engagement=self.rules_of_engagement,
            start_date=self.start_date,
            end_date=self.end_date,
        )


class LearningPlanOut(BaseModel):
    """As stored (LearningPlan's input rules apply on the way in)."""

    learning_goals: list[str]
    success_metrics: list[str]
    offers: str | None = None


class AgreementOut(BaseModel):
    version: int
    status: Literal["draft", "active", "superseded", "withdrawn"]
    drafted_by: str
    drafted_at: datetime
    mentor: LearningPlanOut
    mentee: LearningPlanOut
    cadence_days: int
    meeting_mode: str
    meeting_place: str | None
    rules_of_engagement: list[str]
    start_date: date
    end_date: date
    mentor_confirmed_at: datetime | None
    mentee_confirmed_at: datetime | None
    activated_at: datetime | None


class AgreementView(BaseModel):
    active: AgreementOut | None = Field(description="the version in force")
    pending: AgreementOut | None = Field(description="a draft or amendment awaiting confirmation")
    history: list[AgreementOut]


def to_out(row: AgreementRow) -> AgreementOut:
    d = asdict(row)
    return AgreementOut.model_validate({**d, "mentor": d["mentor_learning"], "mentee": d["mentee_learning"]})


def to_view(v: app.Versions) -> AgreementView:
    return AgreementView(
        active=to_out(v.active) if v.active else None,
        pending=to_out(v.pending) if v.pending else None,
        history=[to_out(a) for a in v.history],
    )


@router.get("", response_model=AgreementView, responses=problems(404))
async def get_agreement(
    on: OnRelationship = Depends(on_relationship),
) -> AgreementView:
    return to_view(await app.versions(on.rt, on.relationship_id, on.principal))


@router.post("", response_model=AgreementOut, status_code=201, responses=problems(404, 409))
async def draft(
    body: AgreementIn,
    on: OnRelationship = Depends(on_relationship),
) -> AgreementOut:
    """Drafts (or amends) the agreement; the drafter's confirmation is recorded."""
    return to_out(await app.draft(on.rt, on.relationship_id, on.principal, body.terms()))


@router.post("/versions/{version}/confirm", response_model=AgreementView, responses=problems(404, 409))
async def confirm(
    version: Annotated[int, Path(ge=1, le=MAX_INT32)],
    on: OnRelationship = Depends(on_relationship),
) -> AgreementView:
    """Confirms the pending version; when both sides have, it becomes the agreement in force."""
    return to_view(await app.confirm(on.rt, on.relationship_id, on.principal, version))
