"""The in-app inbox of the calling participant (token subject = employee id)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from bridge_notifications.api.deps import NotificationsRuntime, get_clock, get_runtime
from bridge_notifications.app import inbox
from bridge_shared.auth.dependencies import require
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.http.openapi import problems
from bridge_shared.scheduling.clock import Clock

router = APIRouter(prefix="/me/notifications", tags=["inbox"])


class InboxItem(BaseModel):
    id: UUID
    kind: str
    subject: str
    body: str
    link: str | None
    cohort_id: str | None
    created_at: datetime
    read_at: datetime | None


class UnreadCount(BaseModel):
    unread: int


class Marked(BaseModel):
    marked: int


participant = require(Role.PARTICIPANT)


@router.get("", response_model=list[InboxItem])
async def list_notifications(
    unread_only: bool = False,
    before: datetime | None = Query(None, description="page: items created before this instant"),
    limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(participant),
    rt: NotificationsRuntime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> list[InboxItem]:
    rows = await inbox.items(
        rt.pool, principal.subject, now=clock.now(), unread_only=unread_only, limit=limit, before=before
    )
    return [InboxItem.model_validate(r, from_attributes=True) for r in rows]


@router.get("/unread-count", response_model=UnreadCount)
async def unread_count(
    principal: Principal = Depends(participant),
    rt: NotificationsRuntime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> UnreadCount:
    return UnreadCount(unread=await inbox.unread_count(rt.pool, principal.subject, now=clock.now()))


@router.post("/{item_id}/read", response_model=Marked, responses=problems(404))
async def mark_read(
    item_id: UUID,
    principal: Principal = Depends(participant),
    rt: NotificationsRuntime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> Marked:
    await inbox.mark_read(rt.pool, principal.subject, item_id, now=clock.now())
    return Marked(marked=1)


@router.post("/read-all", response_model=Marked)
async def mark_all_read(
    principal: Principal = Depends(participant),
    rt: NotificationsRuntime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> Marked:
    return Marked(marked=await inbox.mark_all_read(rt.pool, principal.subject, now=clock.now()))


# After /unread-count (a fixed path of the same shape), so that one is matched first.
@router.get("/{item_id}", response_model=InboxItem, responses=problems(404))
async def get_notification(
    item_id: UUID,
    principal: Principal = Depends(participant),
    rt: NotificationsRuntime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> InboxItem:
    """One item of the caller's inbox (reading it does not mark it read)."""
    row = await inbox.item(rt.pool, principal.subject, item_id, now=clock.now())
    return InboxItem.model_validate(row, from_attributes=True)
