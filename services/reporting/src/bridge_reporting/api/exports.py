"""CSV and XLSX exports of pairs, participants and sessions, streamed, in the caller's scope."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from bridge_reporting.api.deps import filters, get_runtime
from bridge_reporting.app import exports
from bridge_reporting.domain.scope import Dataset, Scope
from bridge_reporting.settings import ReportingSettings
from bridge_shared.runtime import Runtime

router = APIRouter(prefix="/reports", tags=["reports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _attachment(dataset: str, extension: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="bridge-{dataset}.{extension}"'}


@router.get(
    "/exports/{dataset}.csv", response_class=StreamingResponse, responses={200: {"content": {"text/csv": {}}}}
)
async def export_csv(
    dataset: Dataset, scope: Scope = Depends(filters), rt: Runtime[ReportingSettings] = Depends(get_runtime)
) -> StreamingResponse:
    return StreamingResponse(
        exports.csv_stream(rt.pool, dataset, scope),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(dataset, "csv"),
    )


@router.get(
    "/exports/{dataset}.xlsx", response_class=StreamingResponse, responses={200: {"content": {XLSX: {}}}}
)
async def export_xlsx(
    dataset: Dataset, scope: Scope = Depends(filters), rt: Runtime[ReportingSettings] = Depends(get_runtime)
) -> StreamingResponse:
    return StreamingResponse(
        exports.xlsx_stream(rt.pool, dataset, scope), media_type=XLSX, headers=_attachment(dataset, "xlsx")
    )
