"""The delivery log HR queries: every notification and its status; and the routing table."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from bridge_notifications.domain import routing
from bridge_shared.auth.dependencies import HR_ROLES, require
from bridge_shared.auth.principal import Principal
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime

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


def _redact(row: dict[str, Any]) -> dict[str, Any]:
    """Webhook URLs are credentials: the log shows only their host."""
    if row["channel"] == "chat":
        parts = urlsplit(row["to_address"])
        row["to_address"] = f"{parts.scheme}://{parts.netloc}/…"
    return row


async def _visible_cohorts(conn: Any, principal: Principal) -> list[str] | None:
    if principal.is_global_hr:
        return None
    rows = await conn.fetch(
        "SELECT cohort_id FROM cohorts WHERE regions && $1::text[]", sorted(principal.regions)
    )
    return [r["cohort_id"] for r in rows]


@router.get("/deliveries", response_model=list[DeliveryOut])
async def delivery_log(
    cohort_id: str | None = None,
    status: str | None = Query(None, pattern=f"^({STATUSES})$"),
    recipient_id: str | None = None,
    channel: str | None = Query(None, pattern="^(email|chat|inbox)$"),
    kind: str | None = None,
    source_event_id: str | None = None,
    created_from: datetime | None = Query(None, description="created at or after (ISO 8601)"),
    created_to: datetime | None = Query(None, description="created before (ISO 8601)"),
    limit: int = Query(200, ge=1, le=5000),
    offset: int = Query(0, ge=0),
    principal: Principal = Depends(require(*HR_ROLES)),
    rt: Runtime = Depends(get_runtime),
) -> list[DeliveryOut]:
    """Regional HR sees the cohorts of its regions only."""
    async with rt.pool.acquire() as conn:
        allowed = await _visible_cohorts(conn, principal)
        rows = await conn.fetch(
            """SELECT * FROM deliveries
               WHERE ($1::text IS NULL OR cohort_id = $1) AND ($2::text IS NULL OR status = $2)
                 AND ($3::text IS NULL OR recipient_id = $3) AND ($4::text IS NULL OR channel = $4)
                 AND ($5::text IS NULL OR kind = $5) AND ($6::text IS NULL OR source_event_id = $6)
                 AND ($7::timestamptz IS NULL OR created_at >= $7)
                 AND ($8::timestamptz IS NULL OR created_at < $8)
                 AND ($9::text[] IS NULL OR cohort_id = ANY($9))
               ORDER BY created_at DESC, id LIMIT $10 OFFSET $11""",
            cohort_id,
            status,
            recipient_id,
            channel,
            kind,
            source_event_id,
            created_from,
            created_to,
            allowed,
            limit,
            offset,
        )
    return [DeliveryOut.model_validate(_redact(dict(r))) for r in rows]


@router.get("/deliveries/{delivery_id}", response_model=DeliveryOut)
async def delivery(
    delivery_id: UUID, principal: Principal = Depends(require(*HR_ROLES)), rt: Runtime = Depends(get_runtime)
) -> DeliveryOut:
    async with rt.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM deliveries WHERE id = $1", delivery_id)
        allowed = await _visible_cohorts(conn, principal)
    if row is None or (allowed is not None and row["cohort_id"] not in allowed):
        raise Problem(404, "Not found", f"no delivery {delivery_id}")
    return DeliveryOut.model_validate(_redact(dict(row)))


@router.get("/routing", tags=["routing"])
async def routing_table(principal: Principal = Depends(require(*HR_ROLES))) -> list[dict[str, Any]]:
    """The routing table: which event notifies whom, on which channels, with which template, when."""
    return routing.describe()
