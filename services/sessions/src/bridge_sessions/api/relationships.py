"""Relationships: participants see their own, HR sees those in their regions; either side or HR
can end one early; everyone who can see it can see its health."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from bridge_sessions.api.deps import OnRelationship, Rt, get_runtime, on_relationship
from bridge_sessions.app import health as health_app
from bridge_sessions.app import relationships as app
from bridge_sessions.domain.rows import Side
from bridge_shared.auth.dependencies import authenticate
from bridge_shared.auth.principal import Principal
from bridge_shared.http.openapi import problems
from bridge_shared.types import MediumText

router = APIRouter(prefix="/relationships", tags=["relationships"])


class RelationshipOut(BaseModel):
    id: UUID
    pair_id: str
    cohort_id: str
    mentor_id: str
    mentor_name: str
    mentor_timezone: str | None = Field(description="null when the mentor is outside your scope")
    mentor_region: str | None = None
    mentee_id: str
    mentee_name: str
    mentee_timezone: str | None = Field(description="null when the mentee is outside your scope")
    mentee_region: str | None = None
    region: str = Field(description="the mentee's home region (kept for compatibility)")
    status: str = Field(description="forming (no agreement in force yet), active, closed")
    planned_end: date | None
    started_at: datetime
    agreement_version: int | None = None
    open_risks: list[str] = []
    closed_at: datetime | None = None
    outcome: str | None = None
    close_reason: str | None = None
    left_participant_id: str | None = Field(
        None,
        description="why it ended, when one of the two left the company: that person's participant id "
        "(outcome is then ended_early, close_reason what matching gave)",
    )
    my_side: Side | None = Field(None, description="the caller's side, when the caller is a participant")


class CloseIn(BaseModel):
    reason: MediumText


class SignalOut(BaseModel):
    reason: str
    detail: str
    detected_at: datetime
    resolved_at: datetime | None


class HealthOut(BaseModel):
    relationship_id: UUID
    open_risks: list[str]
    signals: list[SignalOut]
    sessions_held: int
    last_held_at: datetime | None
    balance_index: float | None = Field(
        description="2*min(a,b)/(a+b) over topics of the last N held sessions "
        "(a = mentor_to_mentee, b = mentee_to_mentor); 1 even, 0 one-way"
    )
    balance_window_sessions: int
    topics_mentor_to_mentee: int
    topics_mentee_to_mentor: int


def to_out(seen: app.Seen) -> RelationshipOut:
    """Rule 3: a person outside the caller's scope shows by id, name and region only."""
    redacted = {f"{side}_timezone": None for side in seen.hidden}
    return RelationshipOut.model_validate({**asdict(seen.rel), "my_side": seen.my_side, **redacted})


@router.get("", response_model=list[RelationshipOut])
async def list_relationships(
    cohort_id: str | None = Query(None, max_length=128),
    status: str | None = Query(None, max_length=32),
    principal: Principal = Depends(authenticate),
    rt: Rt = Depends(get_runtime),
) -> list[RelationshipOut]:
    """Filtered in SQL by what the caller may see: global HR all, regional HR their regions,
    participants the relationships they are in."""
    return [to_out(s) for s in await app.visible(rt, principal, cohort_id=cohort_id, status=status)]


@router.get("/{relationship_id}", response_model=RelationshipOut, responses=problems(404))
async def get_relationship(
    on: OnRelationship = Depends(on_relationship),
) -> RelationshipOut:
    return to_out(await app.get(on.rt, on.relationship_id, on.principal))


@router.post("/{relationship_id}/close", response_model=RelationshipOut, responses=problems(404, 409))
async def close_early(
    body: CloseIn,
    on: OnRelationship = Depends(on_relationship),
) -> RelationshipOut:
    """Ends the relationship early (either participant, or HR for its region)."""
    return to_out(await app.close_early(on.rt, on.relationship_id, on.principal, body.reason))


@router.get("/{relationship_id}/health", response_model=HealthOut, responses=problems(404))
async def health(
    on: OnRelationship = Depends(on_relationship),
) -> HealthOut:
    return HealthOut.model_validate(asdict(await health_app.report(on.rt, on.relationship_id, on.principal)))
