"""Cohorts: creation, life-cycle phases and the matching policy."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, status

from bridge_matching.api.access import ensure_cohort_visible, get_clock, hr_read, hr_write
from bridge_matching.api.schemas import CohortIn, CohortOut, PhaseChangeIn
from bridge_matching.db import repository as repo
from bridge_matching.domain.phases import POLICY_EDIT_PHASES, TRANSITIONS, can_transition
from bridge_matching.domain.policy import PolicyIn
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.matching import CohortCreatedV1, CohortPhaseChangedV1, CohortPolicyUpdatedV1
from bridge_shared.db.connection import connection, transaction
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime
from bridge_shared.scheduling.clock import Clock

router = APIRouter(prefix="/cohorts", tags=["cohorts"])


def cohort_out(row: Any) -> CohortOut:
    return CohortOut.model_validate(dict(row))


def _subject(row: Any) -> str:
    return f"cohort/{row['id']}"


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CohortOut)
async def create_cohort(
    body: CohortIn,
    principal: Principal = Depends(hr_write),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> CohortOut:
    if not all(principal.can_see_region(r) for r in body.regions):
        raise Problem(403, "Forbidden", "Regional HR can only create cohorts within their own regions.")
    async with transaction(rt.pool) as conn:
        row = await repo.insert_cohort(conn, body, principal.subject, clock.now())
        await rt.outbox.add(
            conn,
            CohortCreatedV1(
                cohort_id=str(row["id"]),
                name=row["name"],
                regions=row["regions"],
                hr_contact_email=row["hr_contact_email"],
                enrolment_opens=row["enrolment_opens"],
                enrolment_closes=row["enrolment_closes"],
                programme_start=row["programme_start"],
                programme_end=row["programme_end"],
                inactivity_threshold_days=row["inactivity_threshold_days"],
                matching_date=row["matching_date"],
                phase=row["phase"],
                skill_taxonomy=row["skill_taxonomy"],
            ),
            subject=_subject(row),
            time=row["created_at"],
        )
    return cohort_out(row)


@router.get("", response_model=list[CohortOut])
async def list_cohorts(
    principal: Principal = Depends(hr_read), rt: Runtime = Depends(get_runtime)
) -> list[CohortOut]:
    async with connection(rt.pool) as conn:
        rows = await repo.list_cohorts(conn)
    return [cohort_out(r) for r in rows if principal.can_see_any_region(r["regions"])]


@router.get("/{cohort_id}", response_model=CohortOut)
async def get_cohort(
    cohort_id: UUID, principal: Principal = Depends(hr_read), rt: Runtime = Depends(get_runtime)
) -> CohortOut:
    async with connection(rt.pool) as conn:
        return cohort_out(ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id)))


@router.post("/{cohort_id}/phase", response_model=CohortOut)
async def change_phase(
    cohort_id: UUID,
    body: PhaseChangeIn,
    principal: Principal = Depends(hr_write),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> CohortOut:
    """Moves the cohort one step along draft -> enrolling -> matching -> active -> closing -> closed."""
    async with transaction(rt.pool) as conn:
        cohort = ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id, for_update=True))
        current = cohort["phase"]
        if not can_transition(current, body.to_phase):
            raise Problem(
                409,
                "Illegal phase transition",
                f"A cohort in phase {current!r} cannot move to {body.to_phase!r}.",
                current_phase=current,
                requested_phase=body.to_phase,
                allowed=sorted(TRANSITIONS[current]),
            )
        now = clock.now()
        row = await repo.set_phase(conn, cohort_id, body.to_phase, now)
        await rt.outbox.add(
            conn,
            CohortPhaseChangedV1(
                cohort_id=str(cohort_id),
                from_phase=current,
                to_phase=body.to_phase,
                changed_at=now,
                changed_by=principal.subject,
            ),
            subject=_subject(row),
            time=now,
        )
    return cohort_out(row)


@router.get("/{cohort_id}/policy", response_model=PolicyIn)
async def get_policy(
    cohort_id: UUID, principal: Principal = Depends(hr_read), rt: Runtime = Depends(get_runtime)
) -> PolicyIn:
    async with connection(rt.pool) as conn:
        cohort = ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id))
    return PolicyIn.model_validate(cohort["policy"] or {})


@router.put("/{cohort_id}/policy", response_model=PolicyIn)
async def put_policy(
    cohort_id: UUID,
    body: PolicyIn,
    principal: Principal = Depends(hr_write),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> PolicyIn:
    async with transaction(rt.pool) as conn:
        cohort = ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id, for_update=True))
        if cohort["phase"] not in POLICY_EDIT_PHASES:
            raise Problem(
                409,
                "Policy is frozen",
                f"The policy cannot change in phase {cohort['phase']!r}.",
                current_phase=cohort["phase"],
            )
        now = clock.now()
        policy = body.model_dump()
        await repo.set_policy(conn, cohort_id, policy, now)
        await rt.outbox.add(
            conn,
            CohortPolicyUpdatedV1(
                cohort_id=str(cohort_id), policy=policy, updated_by=principal.subject, updated_at=now
            ),
            subject=f"cohort/{cohort_id}",
            time=now,
        )
    return body
