"""The delivery log HR queries: every notification and its status."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from bridge_shared.auth.dependencies import require
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.runtime import Runtime, get_runtime

router = APIRouter(prefix="/deliveries", tags=["delivery log"])


class DeliveryOut(BaseModel):
    id: UUID
    dedup_key: str
    source_event_id: str
    recipient_id: str
    cohort_id: str | None
    channel: str
    kind: str
    to_address: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    due_at: datetime
    created_at: datetime
    sent_at: datetime | None


@router.get("", response_model=list[DeliveryOut])
async def delivery_log(
    cohort_id: str | None = None,
    status: str | None = Query(None, pattern="^(pending|sending|sent|failed)$"),
    recipient_id: str | None = None,
    limit: int = Query(200, ge=1, le=5000),
    principal: Principal = Depends(require(Role.HR_ADMIN, Role.SERVICE)),
    rt: Runtime = Depends(get_runtime),
) -> list[DeliveryOut]:
    async with rt.pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT * FROM deliveries
               WHERE ($1::text IS NULL OR cohort_id = $1) AND ($2::text IS NULL OR status = $2)
                 AND ($3::text IS NULL OR recipient_id = $3)
               ORDER BY created_at DESC LIMIT $4""",
            cohort_id, status, recipient_id, limit,
        )
    return [DeliveryOut.model_validate(dict(r)) for r in rows]
