"""Participants: HR enrolment, self-service profile, withdrawal, suggestions and partner requests."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response, status

from bridge_matching.api.deps import anyone, get_runtime, hr_read, hr_write
from bridge_matching.api.schemas import (
    MyEnrolmentOut,
    ParticipantIn,
    ParticipantOut,
    ParticipantPatch,
    ProposalOut,
    RequestIn,
    SuggestionOut,
    WithdrawIn,
    from_row,
    participant_out,
)
from bridge_matching.app import participants
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.domain.matching import breakdown_dict
from bridge_shared.auth.dependencies import require
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.http.openapi import problems
from bridge_shared.http.params import Offset

router = APIRouter(prefix="/cohorts/{cohort_id}/participants", tags=["participants"])
me_router = APIRouter(prefix="/me", tags=["participants"])


@me_router.get("/enrolments", response_model=list[MyEnrolmentOut])
async def my_enrolments(
    limit: int = Query(100, ge=1, le=500),
    principal: Principal = Depends(require(Role.PARTICIPANT)),
    rt: MatchingRuntime = Depends(get_runtime),
) -> list[MyEnrolmentOut]:
    """The caller's own enrolments in every cohort (their token's employee id), newest first: where
    a participant finds their profile, whichever cohort they are in."""
    return [
        MyEnrolmentOut(
            cohort_id=cohort.id,
            cohort_name=cohort.name,
            cohort_phase=cohort.phase,
            formats=cohort.formats,
            programme_start=cohort.programme_start,
            programme_end=cohort.programme_end,
            participant=participant_out(row, cohort.skill_taxonomy),
        )
        for cohort, row in await participants.mine(rt, principal, limit)
    ]


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=ParticipantOut, responses=problems(404, 409)
)
async def enrol_participant(
    cohort_id: UUID,
    body: ParticipantIn,
    response: Response,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> ParticipantOut:
    """Enrols (or updates, by employee id) one participant. 201 when new, 200 otherwise."""
    done = await participants.enrol(rt, principal, cohort_id, body)
    if not done.created:
        response.status_code = status.HTTP_200_OK
    return participant_out(done.participant, done.cohort.skill_taxonomy)


@router.get("", response_model=list[ParticipantOut], responses=problems(404))
async def list_participants(
    cohort_id: UUID,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
    principal: Principal = Depends(hr_read),
    rt: MatchingRuntime = Depends(get_runtime),
) -> list[ParticipantOut]:
    cohort, rows = await participants.page(rt, principal, cohort_id, limit, offset)
    return [participant_out(r, cohort.skill_taxonomy) for r in rows]


@router.get("/{participant_id}", response_model=ParticipantOut, responses=problems(404))
async def get_participant(
    cohort_id: UUID,
    participant_id: UUID,
    principal: Principal = Depends(anyone),
    rt: MatchingRuntime = Depends(get_runtime),
) -> ParticipantOut:
    cohort, row = await participants.get(rt, principal, cohort_id, participant_id)
    return participant_out(row, cohort.skill_taxonomy)


@router.patch("/{participant_id}", response_model=ParticipantOut, responses=problems(404, 409))
async def update_participant(
    cohort_id: UUID,
    participant_id: UUID,
    body: ParticipantPatch,
    principal: Principal = Depends(anyone),
    rt: MatchingRuntime = Depends(get_runtime),
) -> ParticipantOut:
    """Participants change their own profile (HR-managed fields are refused); HR may change any field."""
    changes = body.model_dump(exclude_unset=True)
    cohort, row = await participants.update(rt, principal, cohort_id, participant_id, changes)
    return participant_out(row, cohort.skill_taxonomy)


@router.post("/{participant_id}/withdraw", response_model=ParticipantOut, responses=problems(404))
async def withdraw_participant(
    cohort_id: UUID,
    participant_id: UUID,
    body: WithdrawIn,
    principal: Principal = Depends(anyone),
    rt: MatchingRuntime = Depends(get_runtime),
) -> ParticipantOut:
    """Leaves the cohort: open proposals are cancelled, formed pairs dissolved, partners freed for rematch."""
    cohort, row = await participants.withdraw(rt, principal, cohort_id, participant_id, body.reason)
    return participant_out(row, cohort.skill_taxonomy)


@router.get("/{participant_id}/proposals", response_model=list[ProposalOut], responses=problems(404))
async def participant_proposals(
    cohort_id: UUID,
    participant_id: UUID,
    status_: str | None = Query(None, alias="status", max_length=32),
    principal: Principal = Depends(anyone),
    rt: MatchingRuntime = Depends(get_runtime),
) -> list[ProposalOut]:
    rows = await participants.proposals_of(rt, principal, cohort_id, participant_id, status_)
    return [from_row(ProposalOut, r) for r in rows]


@router.get("/{participant_id}/suggestions", response_model=list[SuggestionOut], responses=problems(404, 409))
async def suggestions(
    cohort_id: UUID,
    participant_id: UUID,
    k: int = Query(5, ge=1, le=1000),
    principal: Principal = Depends(anyone),
    rt: MatchingRuntime = Depends(get_runtime),
) -> list[SuggestionOut]:
    """Top-k compatible partners (hard constraints and free capacity respected), best first, explained."""
    found = await participants.suggestions(rt, principal, cohort_id, participant_id, k)
    return [
        SuggestionOut(
            participant_id=f.partner.id,
            employee_id=f.partner.employee_id,
            display_name=f.partner.display_name,
            as_role=f.suggestion.as_role,
            score=f.suggestion.score,
            breakdown=breakdown_dict(f.suggestion.breakdown),
            explanation=f.suggestion.explanation,
        )
        for f in found
    ]


@router.post(
    "/{participant_id}/requests",
    status_code=status.HTTP_201_CREATED,
    response_model=ProposalOut,
    responses=problems(404, 409),
)
async def request_partner(
    cohort_id: UUID,
    participant_id: UUID,
    body: RequestIn,
    principal: Principal = Depends(anyone),
    rt: MatchingRuntime = Depends(get_runtime),
) -> ProposalOut:
    """A participant asks for a partner (e.g. from suggestions): a proposal they already accepted."""
    proposal = await participants.request_partner(
        rt, principal, cohort_id, participant_id, body.partner_id, body.partner_role
    )
    return from_row(ProposalOut, proposal)
