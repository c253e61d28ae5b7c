"""HRIS CSV imports as jobs: POST returns 202 and a job; GET shows progress and the row-level report."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse

from bridge_matching.api.deps import get_runtime, hr_read, hr_write
from bridge_matching.api.schemas import ImportJobOut, from_row
from bridge_matching.app import imports
from bridge_matching.app.runtime import MatchingRuntime
from bridge_shared.auth.principal import Principal
from bridge_shared.errors import Problem
from bridge_shared.http.openapi import problems

router = APIRouter(tags=["imports"])


@router.post(
    "/cohorts/{cohort_id}/imports",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ImportJobOut,
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
    responses=problems(404, 409, 413, 415, 422),
)
async def start_import(
    cohort_id: UUID,
    request: Request,
    principal: Principal = Depends(hr_write),
    rt: MatchingRuntime = Depends(get_runtime),
) -> JSONResponse:
    """Upload an HRIS export (`Content-Type: text/csv`); participants are upserted by employee id."""
    body = await request.body()
    utf16 = body.startswith((b"\xff\xfe", b"\xfe\xff"))  # refused by the use case, saying what to do
    if b"\x00" in body and not utf16:  # not a text file; PostgreSQL could not store it either
        line = body.count(b"\n", 0, body.index(b"\x00")) + 1
        raise Problem(
            422,
            "Invalid request",
            f"The CSV contains a NUL character (line {line}).",
            errors=[
                {"field": "(body)", "message": f"NUL character on line {line}", "type": "control_character"}
            ],
        )
    job = await imports.start(rt, principal, cohort_id, body)
    out = from_row(ImportJobOut, job)
    return JSONResponse(
        out.model_dump(mode="json"), status_code=202, headers={"Location": f"/imports/{job.id}"}
    )


@router.get("/imports/{job_id}", response_model=ImportJobOut, responses=problems(403, 404))
async def get_import(
    job_id: UUID, principal: Principal = Depends(hr_read), rt: MatchingRuntime = Depends(get_runtime)
) -> ImportJobOut:
    return from_row(ImportJobOut, await imports.get(rt, principal, job_id))
