"""HR's view of the scheduled HRIS delta files (app/hris_sync.py): each delivery taken from the inbox
folder and its row-level report. Reports name people of every region, so hr_admin and service tokens
read them; regional HR get 403 (the use case says why)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from bridge_matching.api.deps import get_runtime, hr_read
from bridge_matching.api.schemas import from_row
from bridge_matching.app import hris_sync
from bridge_matching.app.runtime import MatchingRuntime
from bridge_shared.auth.principal import Principal
from bridge_shared.http.openapi import problems
from bridge_shared.http.params import Offset

router = APIRouter(prefix="/hris/files", tags=["hris"])


class HrisFileOut(BaseModel):
    id: UUID
    name: str = Field(description="the file's name in the inbox folder")
    sha256: str = Field(description="of the content: with the name, what makes a delivery")
    size_bytes: int
    modified_at: datetime = Field(description="the file's modification time when it was read")
    status: Literal["processing", "processed", "failed"]
    error: str | None = Field(
        default=None,
        description="failed: why (a file that could not be read: no row was applied; a write that "
        "failed: the rows written before it stay, as the report counts them)",
    )
    report: dict[str, Any] | None = Field(  # Any: the report document
        default=None,
        description="once finished: rows `total`, `applied`, `unchanged`, `rejected`; `joined`, `moved`, "
        "`left` (what the applied rows meant); `errors` (line, field, message, employee_id of each "
        "rejected row's errors; left out of the list) and `errors_truncated`; `delimiter`",
    )
    rows_done: int = Field(description="valid rows written so far")
    started_at: datetime
    finished_at: datetime | None = None


@router.get("", response_model=list[HrisFileOut], responses=problems(403))
async def list_hris_files(
    limit: int = Query(50, ge=1, le=500),
    offset: Offset = 0,
    principal: Principal = Depends(hr_read),
    rt: MatchingRuntime = Depends(get_runtime),
) -> list[HrisFileOut]:
    """Deliveries taken from the HRIS inbox, newest first; each report without its rejected rows."""
    return [from_row(HrisFileOut, r) for r in await hris_sync.page(rt, principal, limit, offset)]


@router.get("/{file_id}", response_model=HrisFileOut, responses=problems(403, 404))
async def get_hris_file(
    file_id: UUID, principal: Principal = Depends(hr_read), rt: MatchingRuntime = Depends(get_runtime)
) -> HrisFileOut:
    """One delivery with its whole report (every rejected row's errors, up to 10,000)."""
    return from_row(HrisFileOut, await hris_sync.get(rt, principal, file_id))
