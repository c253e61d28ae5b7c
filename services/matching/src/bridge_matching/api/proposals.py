"""Proposals: HR lists them; each side accepts or declines with their participant token."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from bridge_matching.api.access import anyone, ensure_cohort_visible, get_clock, hr_read, is_hr, is_self
from bridge_matching.api.schemas import DeclineIn, ProposalOut
from bridge_matching.db import repository as repo
from bridge_matching.domain import workflow
from bridge_shared.auth.principal import Principal
from bridge_shared.db.connection import connection, transaction
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime
from bridge_shared.scheduling.clock import Clock

router = APIRouter(tags=["proposals"])


def proposal_out(row: Any) -> ProposalOut:
    return ProposalOut.model_validate(dict(row))


@router.get("/cohorts/{cohort_id}/proposals", response_model=list[ProposalOut])
async def list_proposals(
    cohort_id: UUID,
    status: str | None = Query(None),
    principal: Principal = Depends(hr_read),
    rt: Runtime = Depends(get_runtime),
) -> list[ProposalOut]:
    async with connection(rt.pool) as conn:
        ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id))
        return [proposal_out(r) for r in await repo.list_proposals(conn, cohort_id, status)]


async def _visible(
    conn: repo.Conn, principal: Principal, proposal_id: UUID, *, for_update: bool = False
) -> tuple[Any, Any, dict[str, Any]]:
    """(proposal, cohort, {side: participant}) if the caller is HR for the cohort or one of the two people."""
    proposal = await repo.get_proposal(conn, proposal_id, for_update=for_update)
    if proposal is None:
        raise Problem(404, "Proposal not found")
    cohort = await repo.get_cohort(conn, proposal["cohort_id"])
    assert cohort is not None
    people = await repo.participants_by_ids(conn, [proposal["mentor_id"], proposal["mentee_id"]])
    sides = {side: people[proposal[f"{side}_id"]] for side in ("mentor", "mentee")}
    mine = {s: p for s, p in sides.items() if is_self(principal, p)}
    if mine:
        return proposal, cohort, mine
    if is_hr(principal) and principal.can_see_any_region(cohort["regions"]):
        return proposal, cohort, {}
    raise Problem(404, "Proposal not found")


@router.get("/proposals/{proposal_id}", response_model=ProposalOut)
async def get_proposal(
    proposal_id: UUID, principal: Principal = Depends(anyone), rt: Runtime = Depends(get_runtime)
) -> ProposalOut:
    async with connection(rt.pool) as conn:
        proposal, _, _ = await _visible(conn, principal, proposal_id)
    return proposal_out(proposal)


async def _answer(
    proposal_id: UUID, accept: bool, reason: str | None, principal: Principal, rt: Runtime, clock: Clock
) -> ProposalOut:
    async with transaction(rt.pool) as conn:
        proposal, cohort, mine = await _visible(conn, principal, proposal_id, for_update=True)
        if not mine:
            raise Problem(403, "Forbidden", "Only the two people in a proposal can answer it.")
        now = clock.now()
        if proposal["status"] == "pending" and proposal["expires_at"] <= now:
            raise Problem(
                409,
                "Proposal expired",
                "This proposal expired before it was answered.",
                proposal_status="expired",
            )
        if proposal["status"] != "pending":
            raise Problem(
                409,
                "Proposal closed",
                f"This proposal is already {proposal['status']}.",
                proposal_status=proposal["status"],
            )
        [(side, _)] = list(mine.items())[:1]
        if proposal[f"{side}_response"] is not None:
            raise Problem(
                409, "Already answered", f"You already {proposal[f'{side}_response']} this proposal."
            )
        row = await workflow.respond(conn, rt.outbox, cohort, proposal, side, accept, reason, now)
    return proposal_out(row)


@router.post("/proposals/{proposal_id}/accept", response_model=ProposalOut)
async def accept(
    proposal_id: UUID,
    principal: Principal = Depends(anyone),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> ProposalOut:
    """Accept as the participant you are; when both sides have accepted the pair is formed (pair.formed)."""
    return await _answer(proposal_id, True, None, principal, rt, clock)


@router.post("/proposals/{proposal_id}/decline", response_model=ProposalOut)
async def decline(
    proposal_id: UUID,
    body: DeclineIn | None = None,
    principal: Principal = Depends(anyone),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> ProposalOut:
    """Decline (optional reason); both become free for rematch; this pair is never proposed again."""
    return await _answer(proposal_id, False, body.reason if body else None, principal, rt, clock)
