"""Pairs, HR overrides (create by hand, dissolve) with a mandatory reason, and the audit log."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from bridge_matching.api.access import ensure_cohort_visible, get_clock, hr_read, hr_write
from bridge_matching.api.schemas import AuditOut, DissolveIn, OverridePairIn, PairOut
from bridge_matching.db import repository as repo
from bridge_matching.domain import matching, workflow
from bridge_matching.domain.phases import OVERRIDE_PHASES
from bridge_shared.auth.principal import Principal
from bridge_shared.db.connection import connection, transaction
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime
from bridge_shared.scheduling.clock import Clock

router = APIRouter(tags=["pairs"])


@router.get("/cohorts/{cohort_id}/pairs", response_model=list[PairOut])
async def list_pairs(
    cohort_id: UUID,
    status_: str | None = Query("formed", alias="status"),
    principal: Principal = Depends(hr_read),
    rt: Runtime = Depends(get_runtime),
) -> list[PairOut]:
    async with connection(rt.pool) as conn:
        ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id))
        rows = await repo.list_pairs(conn, cohort_id, status_ if status_ != "all" else None)
    return [PairOut.model_validate(dict(r)) for r in rows]


@router.post("/cohorts/{cohort_id}/pairs", status_code=status.HTTP_201_CREATED, response_model=PairOut)
async def create_pair(
    cohort_id: UUID,
    body: OverridePairIn,
    principal: Principal = Depends(hr_write),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> PairOut:
    """HR override: forms a pair directly (no proposal). Hard-constraint breaches are allowed but audited;
    double-booking (capacity) is refused."""
    async with transaction(rt.pool) as conn:
        cohort = ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id, for_update=True))
        if cohort["phase"] not in OVERRIDE_PHASES:
            raise Problem(
                409,
                "Overrides not allowed",
                f"Cohort is in phase {cohort['phase']!r}.",
                current_phase=cohort["phase"],
            )
        state = await matching.load_state(conn, cohort)
        if (
            body.mentor_id not in state.by_id
            or body.mentee_id not in state.by_id
            or body.mentor_id == body.mentee_id
        ):
            raise Problem(
                404, "Participant not found", "Both must be different, enrolled participants of this cohort."
            )
        mentor, mentee = state.by_id[body.mentor_id], state.by_id[body.mentee_id]
        busy = matching.capacity_problems(state, mentor["employee_id"], mentee["employee_id"])
        if busy:
            raise Problem(409, "Participant not free", "; ".join(busy), problems=busy)
        a = matching.assess_pair(state, mentor["employee_id"], mentee["employee_id"])
        now = clock.now()
        pair = await workflow.form_pair(
            conn,
            rt.outbox,
            cohort,
            mentor=mentor,
            mentee=mentee,
            score=a.score,
            breakdown=a.breakdown,
            summary=a.explanation,
            proposal_id=None,
            run_id=None,
            origin="hr_override",
            now=now,
        )
        await repo.audit(
            conn,
            cohort_id,
            principal.subject,
            "pair.create",
            body.reason,
            {
                "pair_id": str(pair["id"]),
                "mentor_id": str(mentor["id"]),
                "mentee_id": str(mentee["id"]),
                "hard_violations": a.violations,
                "score": a.score,
            },
            now,
        )
    return PairOut.model_validate(dict(pair))


@router.post("/cohorts/{cohort_id}/pairs/{pair_id}/dissolve", response_model=PairOut)
async def dissolve_pair(
    cohort_id: UUID,
    pair_id: UUID,
    body: DissolveIn,
    principal: Principal = Depends(hr_write),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> PairOut:
    """HR override: breaks a formed pair (pair.dissolved); both are free for rematch, never re-paired."""
    async with transaction(rt.pool) as conn:
        ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id))
        pair = await repo.get_pair(conn, pair_id, for_update=True)
        if pair is None or pair["cohort_id"] != cohort_id:
            raise Problem(404, "Pair not found")
        if pair["status"] != "formed":
            raise Problem(409, "Pair not active", f"This pair is already {pair['status']}.")
        now = clock.now()
        row = await workflow.dissolve(conn, rt.outbox, pair, body.reason, principal.subject, now)
        await repo.audit(
            conn,
            cohort_id,
            principal.subject,
            "pair.dissolve",
            body.reason,
            {
                "pair_id": str(pair_id),
                "mentor_id": str(pair["mentor_id"]),
                "mentee_id": str(pair["mentee_id"]),
            },
            now,
        )
    return PairOut.model_validate(dict(row))


@router.get("/cohorts/{cohort_id}/audit", response_model=list[AuditOut])
async def audit_log(
    cohort_id: UUID, principal: Principal = Depends(hr_read), rt: Runtime = Depends(get_runtime)
) -> list[AuditOut]:
    async with connection(rt.pool) as conn:
        ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id))
        return [AuditOut.model_validate(dict(r)) for r in await repo.audit_entries(conn, cohort_id)]
