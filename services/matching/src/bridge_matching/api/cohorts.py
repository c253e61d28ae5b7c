"""Cohorts and their participants."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from bridge_matching.api.access import ensure_cohort_visible
from bridge_matching.api.schemas import CohortIn, CohortOut, ParticipantIn, ParticipantOut
from bridge_matching.db import repository as repo
from bridge_matching.domain.events import participant_ref
from bridge_shared.auth.dependencies import HR_ROLES, require
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.matching import CohortCreatedV1, ParticipantEnrolledV1, ParticipantUpdatedV1
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime

router = APIRouter(prefix="/cohorts", tags=["cohorts"])


def _cohort_out(row: Any) -> CohortOut:
    return CohortOut.model_validate(dict(row))


def _participant_out(row: Any) -> ParticipantOut:
    return ParticipantOut.model_validate(dict(row))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CohortOut)
async def create_cohort(
    body: CohortIn,
    principal: Principal = Depends(require(*HR_ROLES)),
    rt: Runtime = Depends(get_runtime),
) -> CohortOut:
    if not all(principal.can_see_region(r) for r in body.regions):
        raise Problem(403, "Forbidden", "Regional HR can only create cohorts within their own regions.")
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await repo.insert_cohort(conn, body, principal.subject)
        await rt.outbox.add(
            conn,
            CohortCreatedV1(
                cohort_id=str(row["id"]), name=row["name"], regions=row["regions"],
                hr_contact_email=row["hr_contact_email"], enrolment_opens=row["enrolment_opens"],
                enrolment_closes=row["enrolment_closes"], programme_start=row["programme_start"],
                programme_end=row["programme_end"], inactivity_threshold_days=row["inactivity_threshold_days"],
            ),
            subject=f"cohort/{row['id']}",
        )
    return _cohort_out(row)


@router.get("", response_model=list[CohortOut])
async def list_cohorts(
    principal: Principal = Depends(require(*HR_ROLES)), rt: Runtime = Depends(get_runtime)
) -> list[CohortOut]:
    async with rt.pool.acquire() as conn:
        rows = await repo.list_cohorts(conn)
    return [_cohort_out(r) for r in rows if principal.can_see_any_region(r["regions"])]


@router.get("/{cohort_id}", response_model=CohortOut)
async def get_cohort(
    cohort_id: UUID, principal: Principal = Depends(require(*HR_ROLES)), rt: Runtime = Depends(get_runtime)
) -> CohortOut:
    async with rt.pool.acquire() as conn:
        return _cohort_out(ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id)))


@router.post("/{cohort_id}/participants", status_code=status.HTTP_201_CREATED, response_model=ParticipantOut)
async def enrol_participant(
    cohort_id: UUID,
    body: ParticipantIn,
    principal: Principal = Depends(require(*HR_ROLES)),
    rt: Runtime = Depends(get_runtime),
) -> ParticipantOut:
    async with rt.pool.acquire() as conn, conn.transaction():
        cohort = ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id))
        if body.region not in cohort["regions"]:
            raise Problem(422, "Invalid request", f"region {body.region!r} is not one of the cohort's regions",
                          errors=[{"field": "region", "message": "not one of the cohort's regions"}])
        row, inserted = await repo.upsert_participant(conn, cohort_id, body)
        event_cls = ParticipantEnrolledV1 if inserted else ParticipantUpdatedV1
        await rt.outbox.add(
            conn,
            event_cls(participant_id=str(row["id"]), cohort_id=str(cohort_id), role=row["role"],
                      profile=participant_ref(row)),
            subject=f"cohort/{cohort_id}/participant/{row['id']}",
        )
    return _participant_out(row)


@router.get("/{cohort_id}/participants", response_model=list[ParticipantOut])
async def list_participants(
    cohort_id: UUID,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    principal: Principal = Depends(require(*HR_ROLES)),
    rt: Runtime = Depends(get_runtime),
) -> list[ParticipantOut]:
    async with rt.pool.acquire() as conn:
        ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id))
        rows = await repo.participants_page(conn, cohort_id, limit, offset)
    return [_participant_out(r) for r in rows]
