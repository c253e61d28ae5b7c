"""Mentoring circles (issue 15): circle runs and their review by HR, publishing, each member's answer,
and the circles themselves. The workflow is app/circles.py; the rules domain/circle_rules.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from bridge_matching.api.deps import anyone, get_runtime, hr_read, hr_write
from bridge_matching.app import circles
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.domain.rows import CircleStatus
from bridge_shared.auth.principal import Principal
from bridge_shared.http.openapi import problems
from bridge_shared.types import MediumText

router = APIRouter(tags=["circles"])

_FORCE = Query(
    False,
    description="make the edit even though it breaks a hard rule (the circle then shows its violations)",
)


# -- bodies -------------------------------------------------------------------------------------------


class WeeklySlotOut(BaseModel):
    weekday: int = Field(description="UTC weekday, 0 = Monday")
    start_minute: int = Field(description="UTC minute of that day")
    duration_minutes: int


class MemberOut(BaseModel):
    participant_id: UUID
    employee_id: str
    display_name: str
    region: str
    department: str
    seniority_level: int
    generation: Literal["junior", "senior", "other"]
    facilitator: bool
    status: Literal["draft", "invited", "accepted", "declined", "expired", "left", "released"] = Field(
        description="draft (a draft circle); invited, then accepted, declined or expired (no answer in "
        "time); left (withdrew, left the company or was erased); released (the circle was dissolved)"
    )
    origin: Literal["engine", "hr", "refill"]
    responded_at: datetime | None = None
    decline_reason: str | None = Field(None, description="shown to HR and to the member themself")


class CircleOut(BaseModel):
    id: UUID
    cohort_id: UUID
    run_id: UUID | None
    status: Literal["draft", "proposed", "formed", "dissolved"]
    members: list[MemberOut]
    facilitator_id: UUID | None
    facilitator_by_hr: bool = Field(description="HR named the facilitator (who need not be eligible)")
    language: str | None
    weekly_slot: WeeklySlotOut | None
    score: float
    breakdown: dict[str, float] = Field(description="mix, skills, department_spread, region_spread, total")
    explanation: str
    violations: list[str] = Field(
        description="hard rules this circle breaks because HR forced an edit (size, juniors, seniors, "
        "language, slot, management, blocked, facilitator); empty otherwise"
    )
    pinned: bool
    expires_at: datetime | None
    proposed_at: datetime | None
    formed_at: datetime | None
    dissolved_at: datetime | None
    dissolved_reason: str | None


class LeftOutOut(BaseModel):
    participant_id: UUID
    employee_id: str
    display_name: str | None
    reason_code: str = Field(description="the engine's code, or `removed` (HR took them out)")
    reason: str


class CircleRunOut(BaseModel):
    id: UUID
    cohort_id: UUID
    status: Literal["draft", "published", "superseded"]
    version: int = Field(description="grows with every review edit and re-solve")
    circles: list[CircleOut]
    left_out: list[LeftOutOut]
    removed: list[UUID] = Field(description="people HR took out (a re-solve leaves them out)")
    stats: dict[str, Any]  # Any: the statistics document
    created_by: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    participant_id: UUID = Field(description="a member of another draft circle, or someone left out")
    to_circle_id: UUID
    force: bool = False


class CircleSwapIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    participant_a: UUID
    participant_b: UUID
    force: bool = False


class PinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    facilitator_id: UUID | None = Field(
        None, description="a member HR names as facilitator (need not be facilitator-eligible)"
    )


class CirclePublishOut(BaseModel):
    run_id: UUID
    circles: int
    expires_at: datetime


class CircleDeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: MediumText | None = Field(None, max_length=1000)


class CircleDissolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: MediumText = Field(min_length=3, max_length=1000)


def circle_out(view: circles.CircleView) -> CircleOut:
    c = view.circle
    return CircleOut(
        id=c.id,
        cohort_id=c.cohort_id,
        run_id=c.run_id,
        status=c.status,
        members=[
            MemberOut(
                participant_id=m.participant.id,
                employee_id=m.participant.employee_id,
                display_name=m.participant.display_name,
                region=m.participant.region,
                department=m.participant.department,
                seniority_level=m.participant.seniority_level,
                generation=m.generation,
                facilitator=m.participant.id == c.facilitator_id,
                status=m.row.status,
                origin=m.row.origin,
                responded_at=m.row.responded_at,
                decline_reason=m.row.decline_reason if m.row.participant_id in view.show_reasons else None,
            )
            for m in view.members
        ],
        facilitator_id=c.facilitator_id,
        facilitator_by_hr=c.facilitator_by_hr,
        language=c.language,
        weekly_slot=None if c.weekly_slot is None else WeeklySlotOut.model_validate(c.weekly_slot),
        score=c.score,
        breakdown=c.breakdown,
        explanation=c.explanation,
        violations=c.violations,
        pinned=c.pinned,
        expires_at=c.expires_at,
        proposed_at=c.proposed_at,
        formed_at=c.formed_at,
        dissolved_at=c.dissolved_at,
        dissolved_reason=c.dissolved_reason,
    )


def run_out(view: circles.RunView) -> CircleRunOut:
    r = view.run
    return CircleRunOut(
        id=r.id,
        cohort_id=r.cohort_id,
        status=r.status,
        version=r.version,
        circles=[circle_out(c) for c in view.circles],
        left_out=[
            LeftOutOut(
                participant_id=UUID(x.data["participant_id"]),
                employee_id=x.data["employee_id"],
                display_name=None if x.participant is None else x.participant.display_name,
                reason_code=x.data["reason_code"],
                reason=x.data["reason"],
            )
            for x in view.left_out
        ],
        removed=r.removed,
        stats=r.stats,
        created_by=r.created_by,
        created_at=r.created_at,
        updated_at=r.updated_at,
        published_at=r.published_at,
    )


# -- runs and review ----------------------------------------------------------------------------------


@router.post(
    "/cohorts/{cohort_id}/circle-runs",
    status_code=status.HTTP_201_CREATED,
    response_model=CircleRunOut,
    responses=problems(404, 409),
)
async def start_circle_run(
    cohort_id: UUID, principal: Principal = Depends(hr_write), rt: MatchingRuntime = Depends(get_runtime)
) -> CircleRunOut:
    """Forms every free enrolled participant into draft circles (solved in this request; an open
    draft is superseded): circles with members, facilitator, language, weekly slot, score breakdown and
    explanation, and everyone left out with the reason. 409 unless the cohort's formats include circles
    and it is in matching or active, or with fewer free people than `circle_min_size`."""
    return run_out(await circles.start(rt, principal, cohort_id))


@router.get("/cohorts/{cohort_id}/circle-runs", response_model=list[CircleRunOut], responses=problems(404))
async def list_circle_runs(
    cohort_id: UUID, principal: Principal = Depends(hr_read), rt: MatchingRuntime = Depends(get_runtime)
) -> list[CircleRunOut]:
    return [run_out(v) for v in await circles.list_runs(rt, principal, cohort_id)]


@router.get("/circle-runs/{run_id}", response_model=CircleRunOut, responses=problems(404))
async def get_circle_run(
    run_id: UUID, principal: Principal = Depends(hr_read), rt: MatchingRuntime = Depends(get_runtime)
) -> CircleRunOut:
    return run_out(await circles.get_run(rt, principal, run_id))


@router.post("/circle-runs/{run_id}/move", response_model=CircleRunOut, responses=problems(404, 409))
async def move_member(
    run_id: UUID,
    body: MoveIn,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> CircleRunOut:
    """Moves a member into another draft circle (or someone left out into one). 409 with `violations`
    (circle id -> broken rules) when it would break a hard rule, unless `force`."""
    view = await circles.move(rt, principal, run_id, body.participant_id, body.to_circle_id, force=body.force)
    return run_out(view)


@router.post("/circle-runs/{run_id}/swap", response_model=CircleRunOut, responses=problems(404, 409))
async def swap_members(
    run_id: UUID,
    body: CircleSwapIn,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> CircleRunOut:
    """Swaps two members of different draft circles (409 with `violations` unless it keeps the rules,
    or `force`)."""
    view = await circles.swap(rt, principal, run_id, body.participant_a, body.participant_b, force=body.force)
    return run_out(view)


@router.delete(
    "/circle-runs/{run_id}/circles/{circle_id}/members/{participant_id}",
    response_model=CircleRunOut,
    responses=problems(404, 409),
)
async def remove_member(
    run_id: UUID,
    circle_id: UUID,
    participant_id: UUID,
    force: bool = _FORCE,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> CircleRunOut:
    """Takes a member out of a draft circle; they stay out of this draft and its re-solves until moved
    back (409 with `violations` if the circle then breaks a rule, unless `force`)."""
    view = await circles.remove_member(rt, principal, run_id, circle_id, participant_id, force=force)
    return run_out(view)


@router.post(
    "/circle-runs/{run_id}/circles/{circle_id}/pin",
    response_model=CircleRunOut,
    responses=problems(404, 409),
)
async def pin_circle(
    run_id: UUID,
    circle_id: UUID,
    body: PinIn | None = None,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> CircleRunOut:
    """Pins a draft circle: a re-solve keeps its members together (and may add to it). With
    `facilitator_id`, HR names its facilitator."""
    facilitator = body.facilitator_id if body else None
    view = await circles.set_pin(rt, principal, run_id, circle_id, pinned=True, facilitator_id=facilitator)
    return run_out(view)


@router.delete(
    "/circle-runs/{run_id}/circles/{circle_id}/pin",
    response_model=CircleRunOut,
    responses=problems(404, 409),
)
async def unpin_circle(
    run_id: UUID,
    circle_id: UUID,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> CircleRunOut:
    return run_out(await circles.set_pin(rt, principal, run_id, circle_id, pinned=False))


@router.post("/circle-runs/{run_id}/resolve", response_model=CircleRunOut, responses=problems(404, 409))
async def resolve_circles(
    run_id: UUID, principal: Principal = Depends(hr_write), rt: MatchingRuntime = Depends(get_runtime)
) -> CircleRunOut:
    """Re-solves the draft: pinned circles keep their members and HR's facilitator, removed people stay
    out, everyone else free is formed again. 409 if the draft changed meanwhile."""
    return run_out(await circles.resolve(rt, principal, run_id))


@router.post("/circle-runs/{run_id}/publish", response_model=CirclePublishOut, responses=problems(404, 409))
async def publish_circles(
    run_id: UUID, principal: Principal = Depends(hr_write), rt: MatchingRuntime = Depends(get_runtime)
) -> CirclePublishOut:
    """Every draft circle is proposed to its members (circle.proposed, with its expiry)."""
    done = await circles.publish(rt, principal, run_id)
    return CirclePublishOut(run_id=done.run_id, circles=done.circles, expires_at=done.expires_at)


# -- circles ------------------------------------------------------------------------------------------


@router.get("/cohorts/{cohort_id}/circles", response_model=list[CircleOut], responses=problems(404))
async def list_circles(
    cohort_id: UUID,
    status_: CircleStatus | None = Query(None, alias="status"),
    principal: Principal = Depends(anyone),
    rt: MatchingRuntime = Depends(get_runtime),
) -> list[CircleOut]:
    """Published circles (drafts are read through their run): HR sees those with a member in their
    regions, a participant their own."""
    return [circle_out(v) for v in await circles.list_circles(rt, principal, cohort_id, status_)]


@router.get("/circles/{circle_id}", response_model=CircleOut, responses=problems(404))
async def get_circle(
    circle_id: UUID, principal: Principal = Depends(anyone), rt: MatchingRuntime = Depends(get_runtime)
) -> CircleOut:
    """One circle: for its members, and HR who sees one of them."""
    return circle_out(await circles.get_circle(rt, principal, circle_id))


@router.post("/circles/{circle_id}/accept", response_model=CircleOut, responses=problems(404, 409))
async def accept_circle(
    circle_id: UUID, principal: Principal = Depends(anyone), rt: MatchingRuntime = Depends(get_runtime)
) -> CircleOut:
    """Accept as the member you are; when every member has accepted the circle is formed."""
    return circle_out(await circles.answer(rt, principal, circle_id, accept=True, reason=None))


@router.post("/circles/{circle_id}/decline", response_model=CircleOut, responses=problems(404, 409))
async def decline_circle(
    circle_id: UUID,
    body: CircleDeclineIn | None = None,
    principal: Principal = Depends(anyone),
    rt: MatchingRuntime = Depends(get_runtime),
) -> CircleOut:
    """Decline (optional reason): your place is refilled from the free participants, or the circle goes
    on smaller, or it is dissolved."""
    reason = body.reason if body else None
    return circle_out(await circles.answer(rt, principal, circle_id, accept=False, reason=reason))


@router.post("/circles/{circle_id}/dissolve", response_model=CircleOut, responses=problems(404, 409))
async def dissolve_circle(
    circle_id: UUID,
    body: CircleDissolveIn,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> CircleOut:
    """HR dissolves a proposed or formed circle (circle.dissolved); its members are free again."""
    return circle_out(await circles.dissolve(rt, principal, circle_id, body.reason))
