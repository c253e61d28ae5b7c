"""Proposals: HR lists them; each side accepts or declines with their participant token."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Query

from bridge_matching.api.deps import anyone, get_runtime, hr_read
from bridge_matching.api.schemas import DeclineIn, ProposalOut, from_row
from bridge_matching.app import proposals
from bridge_matching.app.runtime import MatchingRuntime
from bridge_shared.auth.principal import Principal
from bridge_shared.http.openapi import problems

router = APIRouter(tags=["proposals"])


@router.get("/cohorts/{cohort_id}/proposals", response_model=list[ProposalOut], responses=problems(404))
async def list_proposals(
    cohort_id: UUID,
    status: str | None = Query(None, max_length=32),
    principal: Principal = Depends(hr_read),
    rt: MatchingRuntime = Depends(get_runtime),
) -> list[ProposalOut]:
    return [
        from_row(ProposalOut, r) for r in await proposals.list_for_cohort(rt, principal, cohort_id, status)
    ]


@router.get("/proposals/{proposal_id}", response_model=ProposalOut, responses=problems(404))
async def get_proposal(
    proposal_id: UUID, principal: Principal = Depends(anyone), rt: MatchingRuntime = Depends(get_runtime)
) -> ProposalOut:
    return from_row(ProposalOut, await proposals.get(rt, principal, proposal_id))


@router.post("/proposals/{proposal_id}/accept", response_model=ProposalOut, responses=problems(404, 409))
async def accept(
    proposal_id: UUID, principal: Principal = Depends(anyone), rt: MatchingRuntime = Depends(get_runtime)
) -> ProposalOut:
    """Accept as the participant you are; when both sides have accepted the pair is formed (pair.formed)."""
    return from_row(ProposalOut, await proposals.answer(rt, principal, proposal_id, accept=True, reason=None))


@router.post("/proposals/{proposal_id}/decline", response_model=ProposalOut, responses=problems(404, 409))
async def decline(
    proposal_id: UUID,
    body: DeclineIn | None = None,
    principal: Principal = Depends(anyone),
    rt: MatchingRuntime = Depends(get_runtime),
) -> ProposalOut:
    """Decline (optional reason); both become free for rematch; this pair is never proposed again."""
    reason = body.reason if body else None
    return from_row(
        ProposalOut, await proposals.answer(rt, principal, proposal_id, accept=False, reason=reason)
    )
