"""Matching runs produce drafts; HR reviews them (swap, remove, pin, re-solve) and publishes proposals.

Every run is incremental: people in accepted pairs or open proposals are kept as they are (fixed);
declined, expired and dissolved pairs are never proposed again (excluded); partners from earlier
cohorts count as history. So the same endpoint does the first matching and every rematch.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse

from bridge_matching.api.access import ensure_cohort_visible, get_clock, hr_read, hr_write
from bridge_matching.api.schemas import DraftPairOut, MatchingRunOut, PublishOut, SwapIn, UnmatchedOut
from bridge_matching.db import repository as repo
from bridge_matching.domain import matching, runs, workflow
from bridge_matching.domain.phases import MATCHING_PHASES
from bridge_matching.jobs import job_runner
from bridge_matching.settings import MatchingSettings
from bridge_shared.auth.principal import Principal
from bridge_shared.db.connection import connection, transaction
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime
from bridge_shared.scheduling.clock import Clock

router = APIRouter(tags=["matching"])


async def run_out(conn: repo.Conn, run: Any) -> MatchingRunOut:
    pairs = await repo.draft_pairs(conn, run["id"])
    return MatchingRunOut(
        id=run["id"],
        cohort_id=run["cohort_id"],
        status=run["status"],
        pairs=[DraftPairOut.model_validate(dict(p)) for p in pairs],
        unmatched=[UnmatchedOut.model_validate(u) for u in run["unmatched"]],
        stats=run["stats"],
        error=run["error"],
        attempts=run["attempts"],
        created_at=run["created_at"],
        finished_at=run["finished_at"],
        published_at=run["published_at"],
    )


def _require_matching_phase(cohort: Any) -> None:
    if cohort["phase"] not in MATCHING_PHASES:
        raise Problem(
            409,
            "Matching not open",
            f"Cohort is in phase {cohort['phase']!r}; matching runs need matching or active.",
            current_phase=cohort["phase"],
        )


async def _refuse_if_active(conn: repo.Conn, cohort_id: UUID) -> None:
    active = await runs.active_run(conn, cohort_id)
    if active is not None:
        raise Problem(
            409,
            "A matching run is already active",
            f"Run {active['id']} is {active['status']}; wait for it to finish.",
            active_run_id=str(active["id"]),
            active_run_status=active["status"],
        )


async def _submit(rt: Runtime, run_id: UUID, *, wait: bool, done_status: int) -> JSONResponse:
    """Starts the run on this instance; 202 with the run, or `done_status` if `wait` saw it finish."""
    settings = rt.settings
    assert isinstance(settings, MatchingSettings)
    task = job_runner(rt).submit("matching_runs", run_id)
    if wait:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), settings.run_wait_seconds)
    async with connection(rt.pool) as conn:
        out = await run_out(conn, await repo.get_run(conn, run_id))
    code = done_status if wait and out.status in ("draft", "failed") else 202
    return JSONResponse(
        out.model_dump(mode="json"), status_code=code, headers={"Location": f"/matching-runs/{out.id}"}
    )


@router.post(
    "/cohorts/{cohort_id}/matching-runs",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MatchingRunOut,
    responses={201: {"model": MatchingRunOut, "description": "with `wait=true`: the run finished in time"}},
)
async def start_matching_run(
    cohort_id: UUID,
    wait: bool = Query(False, description="wait up to `run_wait_seconds` for the draft (small cohorts)"),
    principal: Principal = Depends(hr_write),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> JSONResponse:
    """Queues a run that matches everyone who is free into a new draft (an open draft is superseded when
    it is done). Answers 202 with the run and its `Location`; poll `GET /matching-runs/{id}`. With
    `wait=true` it answers 201 with the finished run if it finishes within `run_wait_seconds`."""
    async with transaction(rt.pool) as conn:
        cohort = ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id, for_update=True))
        _require_matching_phase(cohort)
        await _refuse_if_active(conn, cohort_id)
        if len(await repo.enrolled_participants(conn, cohort_id)) < 2:
            raise Problem(
                409, "Not enough participants", "A matching run needs at least two enrolled participants."
            )
        run = await runs.create_run(conn, cohort_id, principal.subject, clock)
    return await _submit(rt, run["id"], wait=wait, done_status=201)


@router.get("/cohorts/{cohort_id}/matching-runs", response_model=list[MatchingRunOut])
async def list_runs(
    cohort_id: UUID, principal: Principal = Depends(hr_read), rt: Runtime = Depends(get_runtime)
) -> list[MatchingRunOut]:
    async with connection(rt.pool) as conn:
        ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id))
        runs = await conn.fetch(
            "SELECT * FROM matching_runs WHERE cohort_id = $1 ORDER BY created_at, id", cohort_id
        )
        return [await run_out(conn, r) for r in runs]


async def _draft(
    conn: repo.Conn, principal: Principal, run_id: UUID, *, must_be_draft: bool = True
) -> tuple[Any, Any]:
    run = await repo.get_run(conn, run_id, for_update=must_be_draft)
    cohort = await repo.get_cohort(conn, run["cohort_id"], for_update=must_be_draft) if run else None
    if run is None:
        raise Problem(404, "Matching run not found")
    ensure_cohort_visible(principal, cohort)
    if must_be_draft and run["status"] != "draft":
        raise Problem(
            409,
            "Run is not a draft",
            f"This run is {run['status']}; start a new run to change it.",
            run_status=run["status"],
        )
    return cohort, run


@router.get("/matching-runs/{run_id}", response_model=MatchingRunOut)
async def get_run(
    run_id: UUID, principal: Principal = Depends(hr_read), rt: Runtime = Depends(get_runtime)
) -> MatchingRunOut:
    async with connection(rt.pool) as conn:
        _, run = await _draft(conn, principal, run_id, must_be_draft=False)
        return await run_out(conn, run)


@router.post("/matching-runs/{run_id}/pairs/{pair_id}/pin", response_model=MatchingRunOut)
async def pin_pair(
    run_id: UUID,
    pair_id: UUID,
    principal: Principal = Depends(hr_write),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> MatchingRunOut:
    return await _set_pin(run_id, pair_id, True, principal, rt, clock)


@router.delete("/matching-runs/{run_id}/pairs/{pair_id}/pin", response_model=MatchingRunOut)
async def unpin_pair(
    run_id: UUID,
    pair_id: UUID,
    principal: Principal = Depends(hr_write),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> MatchingRunOut:
    return await _set_pin(run_id, pair_id, False, principal, rt, clock)


async def _set_pin(
    run_id: UUID, pair_id: UUID, pinned: bool, principal: Principal, rt: Runtime, clock: Clock
) -> MatchingRunOut:
    async with transaction(rt.pool) as conn:
        cohort, run = await _draft(conn, principal, run_id)
        d = await repo.get_draft_pair(conn, run_id, pair_id)
        if d is None:
            raise Problem(404, "Draft pair not found")
        await conn.execute("UPDATE draft_pairs SET pinned = $2 WHERE id = $1", pair_id, pinned)
        await repo.audit(
            conn,
            cohort["id"],
            principal.subject,
            "draft.pin" if pinned else "draft.unpin",
            None,
            {
                "run_id": str(run_id),
                "draft_pair_id": str(pair_id),
                "mentor_id": str(d["mentor_id"]),
                "mentee_id": str(d["mentee_id"]),
            },
            clock.now(),
        )
        return await run_out(conn, run)


@router.delete("/matching-runs/{run_id}/pairs/{pair_id}", response_model=MatchingRunOut)
async def remove_pair(
    run_id: UUID,
    pair_id: UUID,
    principal: Principal = Depends(hr_write),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> MatchingRunOut:
    """Takes a pair out of the draft; a re-solve will not propose it again (both people are free)."""
    async with transaction(rt.pool) as conn:
        cohort, run = await _draft(conn, principal, run_id)
        d = await repo.get_draft_pair(conn, run_id, pair_id)
        if d is None:
            raise Problem(404, "Draft pair not found")
        await conn.execute("UPDATE draft_pairs SET removed = true, pinned = false WHERE id = $1", pair_id)
        await repo.audit(
            conn,
            cohort["id"],
            principal.subject,
            "draft.remove",
            None,
            {
                "run_id": str(run_id),
                "draft_pair_id": str(pair_id),
                "mentor_id": str(d["mentor_id"]),
                "mentee_id": str(d["mentee_id"]),
            },
            clock.now(),
        )
        return await run_out(conn, run)


@router.post("/matching-runs/{run_id}/swap", response_model=MatchingRunOut)
async def swap_pairs(
    run_id: UUID,
    body: SwapIn,
    principal: Principal = Depends(hr_write),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> MatchingRunOut:
    """Swaps the mentees of two draft pairs. The new pairs must keep hard constraints; they get pinned."""
    if body.pair_a == body.pair_b:
        raise Problem(422, "Invalid request", "pair_a and pair_b must differ.")
    async with transaction(rt.pool) as conn:
        cohort, run = await _draft(conn, principal, run_id)
        a = await repo.get_draft_pair(conn, run_id, body.pair_a)
        b = await repo.get_draft_pair(conn, run_id, body.pair_b)
        if a is None or b is None:
            raise Problem(404, "Draft pair not found")
        state = await matching.load_state(conn, cohort)
        if any(
            x not in state.by_id for x in (a["mentor_id"], a["mentee_id"], b["mentor_id"], b["mentee_id"])
        ):
            raise Problem(
                409, "Participant withdrawn", "Someone in these pairs has withdrawn; re-solve first."
            )
        new = [(a["mentor_id"], b["mentee_id"]), (b["mentor_id"], a["mentee_id"])]
        assessed = [matching.assess_pair(state, state.emp(m), state.emp(e)) for m, e in new]
        problems = {
            f"{state.emp(m)}->{state.emp(e)}": x.violations
            for (m, e), x in zip(new, assessed, strict=True)
            if x.violations
        }
        if problems:
            raise Problem(
                409,
                "Swap breaks hard constraints",
                "The swapped pairs would break hard constraints.",
                violations=problems,
            )
        await conn.execute("DELETE FROM draft_pairs WHERE id = ANY($1::uuid[])", [a["id"], b["id"]])
        await repo.insert_draft_pairs(
            conn,
            run_id,
            [
                {
                    "mentor_id": m,
                    "mentee_id": e,
                    "score": x.score,
                    "breakdown": x.breakdown,
                    "explanation": x.explanation,
                    "violations": [],
                    "pinned": True,
                    "origin": "swapped",
                }
                for (m, e), x in zip(new, assessed, strict=True)
            ],
        )
        await repo.audit(
            conn,
            cohort["id"],
            principal.subject,
            "draft.swap",
            None,
            {
                "run_id": str(run_id),
                "before": [
                    [str(a["mentor_id"]), str(a["mentee_id"])],
                    [str(b["mentor_id"]), str(b["mentee_id"])],
                ],
                "after": [[str(m), str(e)] for m, e in new],
            },
            clock.now(),
        )
        return await run_out(conn, run)


@router.post(
    "/matching-runs/{run_id}/resolve",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MatchingRunOut,
    responses={200: {"model": MatchingRunOut, "description": "with `wait=true`: the re-solve finished"}},
)
async def resolve(
    run_id: UUID,
    wait: bool = Query(False, description="wait up to `run_wait_seconds` for the new draft"),
    principal: Principal = Depends(hr_write),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> JSONResponse:
    """Re-solves the draft as a job: pinned pairs stay, removed pairs stay out, everyone else is matched
    again. The run is queued/running meanwhile (review edits get 409) and is a draft again when done."""
    async with transaction(rt.pool) as conn:
        cohort, _run = await _draft(conn, principal, run_id)
        _require_matching_phase(cohort)
        await _refuse_if_active(conn, cohort["id"])
        await runs.requeue(conn, run_id, clock.now())
        await repo.audit(
            conn, cohort["id"], principal.subject, "draft.resolve", None, {"run_id": str(run_id)}, clock.now()
        )
    return await _submit(rt, run_id, wait=wait, done_status=200)


@router.post("/matching-runs/{run_id}/publish", response_model=PublishOut)
async def publish(
    run_id: UUID,
    principal: Principal = Depends(hr_write),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> PublishOut:
    """Every draft pair becomes a proposal (match.proposed, with its explanation and expiry)."""
    settings = rt.settings
    assert isinstance(settings, MatchingSettings)
    async with transaction(rt.pool) as conn:
        cohort, _run = await _draft(conn, principal, run_id)
        _require_matching_phase(cohort)
        drafts = await repo.draft_pairs(conn, run_id)
        state = await matching.load_state(conn, cohort)
        conflicts = []
        for d in drafts:
            if d["mentor_id"] not in state.by_id or d["mentee_id"] not in state.by_id:
                conflicts.append({"draft_pair_id": str(d["id"]), "problem": "a participant has withdrawn"})
                continue
            issues = matching.capacity_problems(state, d["mentor_employee_id"], d["mentee_employee_id"])
            if issues:
                conflicts.append({"draft_pair_id": str(d["id"]), "problem": "; ".join(issues)})
        if conflicts:
            raise Problem(
                409,
                "Draft is stale",
                "Proposals or withdrawals changed since this draft was solved; re-solve it, then publish.",
                conflicts=conflicts,
            )
        now = clock.now()
        proposals = await workflow.create_proposals(
            conn,
            rt.outbox,
            cohort,
            [
                {
                    "mentor_id": d["mentor_id"],
                    "mentee_id": d["mentee_id"],
                    "score": d["score"],
                    "breakdown": d["breakdown"],
                    "explanation": d["explanation"],
                }
                for d in drafts
            ],
            run_id=run_id,
            source="matching_run",
            requested_by=None,
            ttl_hours=settings.proposal_ttl_hours,
            now=now,
        )
        await repo.mark_published(conn, run_id, principal.subject, now)
        await repo.audit(
            conn,
            cohort["id"],
            principal.subject,
            "run.publish",
            None,
            {"run_id": str(run_id), "proposals": len(proposals)},
            now,
        )
    return PublishOut(
        run_id=run_id, proposals=len(proposals), expires_at=now + timedelta(hours=settings.proposal_ttl_hours)
    )
