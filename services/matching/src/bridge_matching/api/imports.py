"""HRIS CSV imports as jobs: POST returns 202 and a job; GET shows progress and the row-level report."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse

from bridge_matching.api.access import ensure_cohort_visible, get_clock, hr_read, hr_write
from bridge_matching.api.schemas import ImportJobOut
from bridge_matching.db import repository as repo
from bridge_matching.domain.importer import create_job
from bridge_matching.domain.phases import ENROLMENT_PHASES
from bridge_matching.jobs import job_runner
from bridge_matching.settings import MatchingSettings
from bridge_shared.auth.principal import Principal
from bridge_shared.db.connection import connection, transaction
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime
from bridge_shared.scheduling.clock import Clock

router = APIRouter(tags=["imports"])


@router.post(
    "/cohorts/{cohort_id}/imports",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ImportJobOut,
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
)
async def start_import(
    cohort_id: UUID,
    request: Request,
    principal: Principal = Depends(hr_write),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> JSONResponse:
    """Upload an HRIS export (`Content-Type: text/csv`); participants are upserted by employee id."""
    settings = rt.settings
    assert isinstance(settings, MatchingSettings)
    body = await request.body()
    if len(body) > settings.import_max_bytes:
        raise Problem(413, "File too large", f"Imports are limited to {settings.import_max_bytes} bytes.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(415, "Unsupported encoding", "The CSV must be UTF-8.") from exc
    async with transaction(rt.pool) as conn:
        cohort = ensure_cohort_visible(principal, await repo.get_cohort(conn, cohort_id))
        if cohort["phase"] not in ENROLMENT_PHASES:
            raise Problem(
                409,
                "Enrolment closed",
                f"Cohort is in phase {cohort['phase']!r}; imports need draft or enrolling.",
                current_phase=cohort["phase"],
            )
        job = await create_job(conn, cohort_id, principal.subject, clock, text)
    job_runner(rt).submit("import_jobs", job["id"])
    out = ImportJobOut.model_validate(dict(job))
    return JSONResponse(
        out.model_dump(mode="json"), status_code=202, headers={"Location": f"/imports/{job['id']}"}
    )


@router.get("/imports/{job_id}", response_model=ImportJobOut)
async def get_import(
    job_id: UUID, principal: Principal = Depends(hr_read), rt: Runtime = Depends(get_runtime)
) -> ImportJobOut:
    async with connection(rt.pool) as conn:
        job = await conn.fetchrow("SELECT * FROM import_jobs WHERE id = $1", job_id)
        if job is None:
            raise Problem(404, "Import not found")
        ensure_cohort_visible(principal, await repo.get_cohort(conn, job["cohort_id"]))
    return ImportJobOut.model_validate(dict(job))
