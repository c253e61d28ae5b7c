"""The circle agreement: shared goals, each member's personal goal, cadence, rules of engagement and
an end date; drafted by any member (the facilitator usually), in force once every member confirmed
it (the rules: app/circle_agreements.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field, model_validator

from bridge_sessions.api.deps import OnCircle, on_circle
from bridge_sessions.app import circle_agreements as app
from bridge_sessions.domain.circle_rows import CircleAgreementRow, CircleAgreementTerms
from bridge_shared.http.openapi import problems
from bridge_shared.types import MAX_INT32, Identifier, MediumText, Phrase

router = APIRouter(prefix="/circles/{circle_id}/agreement", tags=["circle agreements"])


class PersonalGoalIn(BaseModel):
    participant_id: Identifier = Field(description="a member of the circle")
    goal: Phrase = Field(description="what this member wants to learn in the circle")


class CircleAgreementIn(BaseModel):
    shared_goals: list[Phrase] = Field(min_length=1, max_length=10, description="what the circle works on")
    personal_goals: list[PersonalGoalIn] = Field(
        default_factory=list,
        max_length=20,
        description="each member's own goal (a member can also state theirs when confirming)",
    )
    cadence_days: int = Field(ge=1, le=90, description="meet every N days")
    rules_of_engagement: MediumText | None = None
    end_date: date = Field(description="after today in every member's time zone")

    @model_validator(mode="after")
    def _one_goal_each(self) -> CircleAgreementIn:
        ids = [g.participant_id for g in self.personal_goals]
        if len(ids) != len(set(ids)):
            raise ValueError("one personal goal per member")
        return self

    def terms(self) -> CircleAgreementTerms:
        return CircleAgreementTerms(
            shared_goals=self.shared_goals,
            cadence_days=self.cadence_days,
            rules_of_engagement=self.rules_of_engagement,
            end_date=self.end_date,
        )


class ConfirmIn(BaseModel):
    personal_goal: Phrase | None = Field(None, description="your own goal (replaces what the draft says)")


class MemberPartOut(BaseModel):
    participant_id: str
    personal_goal: str | None
    confirmed_at: datetime | None


class CircleAgreementOut(BaseModel):
    version: int
    status: Literal["draft", "active", "superseded", "withdrawn"]
    drafted_by: str = Field(description="participant id")
    drafted_at: datetime
    shared_goals: list[str]
    cadence_days: int
    rules_of_engagement: str | None
    end_date: date
    activated_at: datetime | None
    members: list[MemberPartOut] = Field(description="each member's personal goal and confirmation")


class CircleAgreementView(BaseModel):
    active: CircleAgreementOut | None = Field(description="the version in force")
    pending: CircleAgreementOut | None = Field(description="a draft or amendment awaiting confirmation")
    history: list[CircleAgreementOut]


def to_out(row: CircleAgreementRow) -> CircleAgreementOut:
    return CircleAgreementOut.model_validate(
        {
            **{f: getattr(row, f) for f in CircleAgreementOut.model_fields if f != "members"},
            "members": [
                MemberPartOut(
                    participant_id=m.participant_id,
                    personal_goal=m.personal_goal,
                    confirmed_at=m.confirmed_at,
                )
                for m in row.members
            ],
        }
    )


def to_view(v: app.CircleVersions) -> CircleAgreementView:
    return CircleAgreementView(
        active=to_out(v.active) if v.active else None,
        pending=to_out(v.pending) if v.pending else None,
        history=[to_out(a) for a in v.history],
    )


@router.get("", response_model=CircleAgreementView, responses=problems(404))
async def get_agreement(on: OnCircle = Depends(on_circle)) -> CircleAgreementView:
    return to_view(await app.versions(on.rt, on.circle_id, on.principal))


@router.post("", response_model=CircleAgreementOut, status_code=201, responses=problems(404, 409))
async def draft(body: CircleAgreementIn, on: OnCircle = Depends(on_circle)) -> CircleAgreementOut:
    """Drafts (or amends) the agreement (any member); the drafter's confirmation is recorded."""
    goals = {g.participant_id: g.goal for g in body.personal_goals}
    return to_out(await app.draft(on.rt, on.circle_id, on.principal, body.terms(), goals))


@router.post("/versions/{version}/confirm", response_model=CircleAgreementView, responses=problems(404, 409))
async def confirm(
    version: Annotated[int, Path(ge=1, le=MAX_INT32)],
    body: ConfirmIn | None = None,
    on: OnCircle = Depends(on_circle),
) -> CircleAgreementView:
    """Confirms the pending version (each member for themself, optionally with their personal goal);
    when every member has, it becomes the agreement in force."""
    goal = body.personal_goal if body else None
    return to_view(await app.confirm(on.rt, on.circle_id, on.principal, version, personal_goal=goal))
