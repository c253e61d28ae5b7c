"""Matching runs produce drafts; HR reviews them (swap, remove, pin, re-solve) and publishes proposals.

Every run is incremental: people in accepted pairs or open proposals are kept as they are (fixed);
declined, expired and dissolved pairs are never proposed again (excluded); partners from earlier
cohorts count as history. So the same endpoint does the first matching and every rematch.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse

from bridge_matching.api.deps import get_runtime, hr_read, hr_write
from bridge_matching.api.schemas import (
    DraftPairOut,
    FailedAttemptOut,
    MatchingRunOut,
    PublishOut,
    SwapIn,
    UnmatchedOut,
    from_row,
)
from bridge_matching.app import runs
from bridge_matching.app.runtime import MatchingRuntime
from bridge_shared.auth.principal import Principal
from bridge_shared.http.openapi import problems

router = APIRouter(tags=["matching"])


def run_out(view: runs.RunView) -> MatchingRunOut:
    run = view.run
    return MatchingRunOut(
        id=run.id,
        cohort_id=run.cohort_id,
        status=run.status,
        origin=run.origin,
        reason=run.reason,
        pairs=[from_row(DraftPairOut, p) for p in view.pairs],
        unmatched=[UnmatchedOut.model_validate(u) for u in run.unmatched],
        stats=run.stats,
        error=run.error,
        attempts=run.attempts,
        failed_attempts=[FailedAttemptOut.model_validate(a) for a in run.failed_attempts],
        created_at=run.created_at,
        finished_at=run.finished_at,
        published_at=run.published_at,
    )


async def _submitted(rt: MatchingRuntime, run_id: UUID, *, wait: bool, done_status: int) -> JSONResponse:
    """202 with the run and its Location, or `done_status` if `wait` saw it finish."""
    view, finished = await runs.submit(rt, run_id, wait=wait)
    out = run_out(view)
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=done_status if finished else 202,
        headers={"Location": f"/matching-runs/{out.id}"},
    )


@router.post(
    "/cohorts/{cohort_id}/matching-runs",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MatchingRunOut,
    responses={
        **problems(404, 409),
        201: {"model": MatchingRunOut, "description": "with `wait=true`: the run finished in time"},
    },
)
async def start_matching_run(
    cohort_id: UUID,
    wait: bool = Query(False, description="wait up to `run_wait_seconds` for the draft (small cohorts)"),
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> JSONResponse:
    """Queues a run that matches everyone who is free into a new draft (an open draft is superseded when
    it is done). Answers 202 with the run and its `Location`; poll `GET /matching-runs/{id}`. With
    `wait=true` it answers 201 with the finished run if it finishes within `run_wait_seconds`."""
    run = await runs.start(rt, principal, cohort_id)
    return await _submitted(rt, run.id, wait=wait, done_status=201)


@router.get(
    "/cohorts/{cohort_id}/matching-runs", response_model=list[MatchingRunOut], responses=problems(404)
)
async def list_runs(
    cohort_id: UUID, principal: Principal = Depends(hr_read), rt: MatchingRuntime = Depends(get_runtime)
) -> list[MatchingRunOut]:
    return [run_out(v) for v in await runs.list_for_cohort(rt, principal, cohort_id)]


@router.get("/matching-runs/{run_id}", response_model=MatchingRunOut, responses=problems(404))
async def get_run(
    run_id: UUID, principal: Principal = Depends(hr_read), rt: MatchingRuntime = Depends(get_runtime)
) -> MatchingRunOut:
    return run_out(await runs.get(rt, principal, run_id))


@router.post(
    "/matching-runs/{run_id}/pairs/{pair_id}/pin", response_model=MatchingRunOut, responses=problems(404, 409)
)
async def pin_pair(
    run_id: UUID,
    pair_id: UUID,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> MatchingRunOut:
    return run_out(await runs.set_pin(rt, principal, run_id, pair_id, True))


@router.delete(
    "/matching-runs/{run_id}/pairs/{pair_id}/pin", response_model=MatchingRunOut, responses=problems(404, 409)
)
async def unpin_pair(
    run_id: UUID,
    pair_id: UUID,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> MatchingRunOut:
    return run_out(await runs.set_pin(rt, principal, run_id, pair_id, False))


@router.delete(
    "/matching-runs/{run_id}/pairs/{pair_id}", response_model=MatchingRunOut, responses=problems(404, 409)
)
async def remove_pair(
    run_id: UUID,
    pair_id: UUID,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> MatchingRunOut:
    """Takes a pair out of the draft; a re-solve will not propose it again (both people are free)."""
    return run_out(await runs.remove_pair(rt, principal, run_id, pair_id))


@router.post("/matching-runs/{run_id}/swap", response_model=MatchingRunOut, responses=problems(404, 409))
async def swap_pairs(
    run_id: UUID,
    body: SwapIn,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> MatchingRunOut:
    """Swaps the mentees of two draft pairs. The new pairs must keep hard constraints; they get pinned."""
    return run_out(await runs.swap(rt, principal, run_id, body.pair_a, body.pair_b))


@router.post(
    "/matching-runs/{run_id}/resolve",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MatchingRunOut,
    responses={
        **problems(404, 409),
        200: {"model": MatchingRunOut, "description": "with `wait=true`: the re-solve finished"},
    },
)
async def resolve(
    run_id: UUID,
    wait: bool = Query(False, description="wait up to `run_wait_seconds` for the new draft"),
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> JSONResponse:
    """Re-solves the draft as a job: pinned pairs stay, removed pairs stay out, everyone else is matched
    again. The run is queued/running meanwhile (review edits get 409) and is a draft again when done."""
    await runs.requeue(rt, principal, run_id)
    return await _submitted(rt, run_id, wait=wait, done_status=200)


@router.post("/matching-runs/{run_id}/publish", response_model=PublishOut, responses=problems(404, 409))
async def publish(
    run_id: UUID, principal: Principal = Depends(hr_write), rt: MatchingRuntime = Depends(get_runtime)
) -> PublishOut:
    """Every draft pair becomes a proposal (match.proposed, with its explanation and expiry)."""
    done = await runs.publish(rt, principal, run_id)
    return PublishOut(run_id=done.run_id, proposals=done.proposals, expires_at=done.expires_at)
