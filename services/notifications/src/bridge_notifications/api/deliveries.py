"""The delivery log HR queries: every notification and its status; and the routing table."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from bridge_notifications.api.deps import NotificationsRuntime, get_runtime
from bridge_notifications.app import delivery_log as log
from bridge_notifications.app.delivery_log import LogFilter
from bridge_notifications.domain import routing
from bridge_shared.auth.dependencies import HR_ROLES, require
from bridge_shared.auth.principal import Principal
from bridge_shared.http.openapi import problems
from bridge_shared.http.params import Offset

router = APIRouter(tags=["delivery log"])

STATUSES = "pending|sending|sent|failed|cancelled|digest|digested"


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
    held_reason: str | None
    group_key: str | None
    locale: str | None
    due_at: datetime
    created_at: datetime
    sent_at: datetime | None
    digest_id: UUID | None


@router.get("/deliveries", response_model=list[DeliveryOut])
async def delivery_log(
    cohort_id: str | None = Query(None, max_length=128),
    status: str | None = Query(None, pattern=f"^({STATUSES})$"),
    recipient_id: str | None = Query(None, max_length=128),
    channel: str | None = Query(None, pattern="^(email|chat|inbox)$"),
    kind: str | None = Query(None, max_length=128),
    source_event_id: str | None = Query(None, max_length=128),
    created_from: datetime | None = Query(None, description="created at or after (ISO 8601)"),
    created_to: datetime | None = Query(None, description="created before (ISO 8601)"),
    limit: int = Query(200, ge=1, le=5000),
    offset: Offset = 0,
    principal: Principal = Depends(require(*HR_ROLES)),
    rt: NotificationsRuntime = Depends(get_runtime),
) -> list[DeliveryOut]:
    """Regional HR sees the cohorts of its regions only."""
    f = LogFilter(cohort_id, status, recipient_id, channel, kind, source_event_id, created_from, created_to)
    rows = await log.search(rt.pool, principal, f, limit=limit, offset=offset)
    return [DeliveryOut.model_validate(r, from_attributes=True) for r in rows]


@router.get("/deliveries/{delivery_id}", response_model=DeliveryOut, responses=problems(404))
async def delivery(
    delivery_id: UUID,
    principal: Principal = Depends(require(*HR_ROLES)),
    rt: NotificationsRuntime = Depends(get_runtime),
) -> DeliveryOut:
    row = await log.delivery(rt.pool, principal, delivery_id)
    return DeliveryOut.model_validate(row, from_attributes=True)


# Any: the table as plain JSON data (see routing.describe).
@router.get("/routing", tags=["routing"])
async def routing_table(principal: Principal = Depends(require(*HR_ROLES))) -> list[dict[str, Any]]:
    """The routing table: which event notifies whom, on which channels, with which template, when."""
    return routing.describe()
