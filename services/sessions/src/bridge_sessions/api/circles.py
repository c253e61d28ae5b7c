"""Circles: members see their own, HR those with a member in their regions, service all; everyone
who can see a circle can see its health and exchange index. Circles open and end through matching's
events (and the circle health job at their end date): nothing here changes one."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from bridge_sessions.api.deps import OnCircle, Rt, get_runtime, on_circle
from bridge_sessions.app import circle_health as health_app
from bridge_sessions.app import circles as app
from bridge_shared.auth.dependencies import authenticate
from bridge_shared.auth.principal import Principal
from bridge_shared.http.openapi import problems
from bridge_shared.http.params import QueryIdentifier

router = APIRouter(prefix="/circles", tags=["circles"])


class WeeklySlotOut(BaseModel):
    weekday: int = Field(description="UTC weekday, 0 = Monday")
    start_minute: int = Field(description="minutes after 00:00 UTC")
    duration_minutes: int


class MemberOut(BaseModel):
    participant_id: str
    display_name: str
    region: str
    generation: str = Field(description="junior, senior or other (from seniority levels, never age)")
    timezone: str | None = Field(description="null when the member is outside your scope")
    locale: str
    facilitator: bool


class CircleOut(BaseModel):
    id: str = Field(description="matching's circle id")
    cohort_id: str
    status: str = Field(description="forming (no agreement in force yet), active, closed")
    facilitator_id: str
    language: str = Field(description="a language every member speaks")
    weekly_slot: WeeklySlotOut | None
    members: list[MemberOut]
    planned_end: date | None = Field(description="the agreement in force's end date, else the programme's")
    started_at: datetime
    agreement_version: int | None
    open_risks: list[str]
    closed_at: datetime | None
    outcome: str | None
    close_reason: str | None
    my_participant_id: str | None = Field(description="the caller's participant id, when a member")
    i_facilitate: bool


class CircleSignalOut(BaseModel):
    reason: str
    detail: str
    detected_at: datetime
    escalate_at: datetime = Field(description="when the facilitator's nudge becomes HR's")
    resolved_at: datetime | None


class CircleHealthOut(BaseModel):
    circle_id: str
    open_risks: list[str]
    signals: list[CircleSignalOut]
    sessions_held: int
    last_held_at: datetime | None
    attendance_rate: float | None = Field(
        description="members present / members expected over the last N held sessions"
    )
    attendance_window_sessions: int
    exchange_index: float | None = Field(
        description="2*min(a,b)/(a+b) over the learning of every held session (a = junior_to_senior, "
        "b = senior_to_junior); 1 both ways evenly, 0 one way, null with no learning across generations"
    )
    learning_junior_to_senior: int
    learning_senior_to_junior: int
    contributions: dict[str, int] = Field(
        description="participant id -> ideas brought and topics taught over the last N held sessions"
    )
    dominance_window_sessions: int


def to_out(seen: app.CircleSeen) -> CircleOut:
    """Rule 3: a member outside the caller's scope shows by id, name, region and generation only."""
    c = seen.circle
    return CircleOut(
        id=c.id,
        cohort_id=c.cohort_id,
        status=c.status,
        facilitator_id=c.facilitator_id,
        language=c.language,
        weekly_slot=WeeklySlotOut.model_validate(c.weekly_slot) if c.weekly_slot else None,
        members=[
            MemberOut(
                participant_id=m.participant_id,
                display_name=m.display_name,
                region=m.region,
                generation=m.generation,
                timezone=None if m.participant_id in seen.hidden else m.timezone,
                locale=m.locale,
                facilitator=m.participant_id == c.facilitator_id,
            )
            for m in c.active_members
        ],
        planned_end=c.planned_end,
        started_at=c.started_at,
        agreement_version=c.agreement_version,
        open_risks=c.open_risks,
        closed_at=c.closed_at,
        outcome=c.outcome,
        close_reason=c.close_reason,
        my_participant_id=seen.me,
        i_facilitate=seen.me is not None and seen.me == c.facilitator_id,
    )


@router.get("", response_model=list[CircleOut])
async def list_circles(
    cohort_id: QueryIdentifier | None = None,
    status: Literal["forming", "active", "closed"] | None = Query(None),
    principal: Principal = Depends(authenticate),
    rt: Rt = Depends(get_runtime),
) -> list[CircleOut]:
    """Filtered in SQL by what the caller may see: global HR and service all, regional HR those with
    a member in their regions, participants the circles they are members of."""
    return [to_out(s) for s in await app.visible(rt, principal, cohort_id=cohort_id, status=status)]


@router.get("/{circle_id}", response_model=CircleOut, responses=problems(404))
async def get_circle(on: OnCircle = Depends(on_circle)) -> CircleOut:
    return to_out(await app.get(on.rt, on.circle_id, on.principal))


@router.get("/{circle_id}/health", response_model=CircleHealthOut, responses=problems(404))
async def circle_health(on: OnCircle = Depends(on_circle)) -> CircleHealthOut:
    """Open risks and their history, attendance, who contributed, and the exchange index."""
    return CircleHealthOut.model_validate(asdict(await health_app.report(on.rt, on.circle_id, on.principal)))
