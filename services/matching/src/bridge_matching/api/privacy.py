"""Privacy (docs/privacy.md): erasure of a person (Art. 17) and their data export (Art. 15/20).

Erasures and exports for someone are requested by hr_admin (every region: a global act) or the
privacy officer; service tokens may read erasure status. A participant exports their own data under
/me. The use cases (app/privacy.py) decide; these routes parse and shape.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse

from bridge_matching.api.deps import get_runtime
from bridge_matching.api.schemas import ErasureIn, ErasureOut, ExportAccepted, ExportIn
from bridge_matching.app import privacy
from bridge_matching.app.runtime import MatchingRuntime
from bridge_shared.auth.dependencies import require
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.http.openapi import problems
from bridge_shared.http.params import Offset

router = APIRouter(tags=["privacy"])

# Role checks at the door; the use cases apply the rule (regional HR: 403, a global act).
requester = require(Role.HR_ADMIN, Role.HR_REGIONAL, Role.PRIVACY_OFFICER)
reader = require(Role.HR_ADMIN, Role.HR_REGIONAL, Role.PRIVACY_OFFICER, Role.SERVICE)
participant = require(Role.PARTICIPANT)

_EXPORT_DOC = {
    "description": "While incomplete: `{export_id, status: pending, answered: [services]}`. Complete: "
    "`{export_id, generated_at, status: complete, person, services: {matching, sessions, "
    "notifications, reporting}}`, each service's section with lists of rows and `summary` sentences.",
}


@router.post(
    "/privacy/erasures",
    status_code=202,
    response_model=ErasureOut,
    responses={**problems(404, 409), 200: {"description": "This person was already erased: that erasure"}},
)
async def request_erasure(
    body: ErasureIn, principal: Principal = Depends(requester), rt: MatchingRuntime = Depends(get_runtime)
) -> JSONResponse:
    """Erases the person with this employee id from matching (every cohort) in one transaction and asks
    sessions, notifications and reporting to erase them: 202 with the erasure's status and `Location`.
    The same person again: 200 with the existing erasure. 404 if no participant has this employee id."""
    view, created = await privacy.request_erasure(rt, principal, body.employee_id)
    out = ErasureOut.model_validate(view.body())
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=202 if created else 200,
        headers={"Location": f"/privacy/erasures/{view.row.id}"},
    )


@router.get("/privacy/erasures", response_model=list[ErasureOut])
async def list_erasures(
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
    principal: Principal = Depends(reader),
    rt: MatchingRuntime = Depends(get_runtime),
) -> list[ErasureOut]:
    """Erasures, newest first (the ledger holds no employee id, name or e-mail)."""
    views = await privacy.list_erasures(rt, principal, limit, offset)
    return [ErasureOut.model_validate(v.body()) for v in views]


@router.get("/privacy/erasures/{erasure_id}", response_model=ErasureOut, responses=problems(404))
async def get_erasure(
    erasure_id: UUID, principal: Principal = Depends(reader), rt: MatchingRuntime = Depends(get_runtime)
) -> ErasureOut:
    """`status` in_progress until every service confirmed, then completed; each service's counts."""
    return ErasureOut.model_validate((await privacy.get_erasure(rt, principal, erasure_id)).body())


def _accepted(export_id: UUID, location: str) -> JSONResponse:
    out = ExportAccepted(id=export_id, status="pending")
    return JSONResponse(out.model_dump(mode="json"), status_code=202, headers={"Location": location})


@router.post("/privacy/exports", status_code=202, response_model=ExportAccepted, responses=problems(404))
async def request_export(
    body: ExportIn, principal: Principal = Depends(requester), rt: MatchingRuntime = Depends(get_runtime)
) -> JSONResponse:
    """Starts an export of everything Bridge holds about the person (Art. 15/20)."""
    row = await privacy.request_export(rt, principal, body.employee_id, own=False)
    return _accepted(row.id, f"/privacy/exports/{row.id}")


@router.get(
    "/privacy/exports/{export_id}",
    response_model=dict[str, Any],
    responses={**problems(404), 200: _EXPORT_DOC},
)
async def get_export(
    export_id: UUID, principal: Principal = Depends(requester), rt: MatchingRuntime = Depends(get_runtime)
) -> dict[str, Any]:  # Any: the export document
    return await privacy.get_export(rt, principal, export_id, own=False)


@router.get(
    "/privacy/exports/{export_id}/summary",
    response_class=HTMLResponse,
    responses=problems(404, 409, descriptions={409: "Not every service has answered yet"}),
)
async def export_summary(
    export_id: UUID, principal: Principal = Depends(requester), rt: MatchingRuntime = Depends(get_runtime)
) -> HTMLResponse:
    """The export as a readable page (each service's summary sentences)."""
    return HTMLResponse(await privacy.export_summary(rt, principal, export_id, own=False))


@router.post("/me/privacy/exports", status_code=202, response_model=ExportAccepted, responses=problems(404))
async def request_my_export(
    principal: Principal = Depends(participant), rt: MatchingRuntime = Depends(get_runtime)
) -> JSONResponse:
    """A participant asks for everything Bridge holds about them (their token's employee id)."""
    row = await privacy.request_export(rt, principal, principal.subject, own=True)
    return _accepted(row.id, f"/me/privacy/exports/{row.id}")


@router.get(
    "/me/privacy/exports/{export_id}",
    response_model=dict[str, Any],
    responses={**problems(404), 200: _EXPORT_DOC},
)
async def get_my_export(
    export_id: UUID, principal: Principal = Depends(participant), rt: MatchingRuntime = Depends(get_runtime)
) -> dict[str, Any]:  # Any: the export document
    return await privacy.get_export(rt, principal, export_id, own=True)


@router.get(
    "/me/privacy/exports/{export_id}/summary",
    response_class=HTMLResponse,
    responses=problems(404, 409, descriptions={409: "Not every service has answered yet"}),
)
async def my_export_summary(
    export_id: UUID, principal: Principal = Depends(participant), rt: MatchingRuntime = Depends(get_runtime)
) -> HTMLResponse:
    return HTMLResponse(await privacy.export_summary(rt, principal, export_id, own=True))
