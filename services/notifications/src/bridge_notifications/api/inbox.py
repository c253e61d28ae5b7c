"""The in-app inbox of the calling participant (token subject = employee id)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from bridge_notifications.db import inbox
from bridge_shared.auth.dependencies import require
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime

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
    rt: Runtime = Depends(get_runtime),
) -> list[InboxItem]:
    async with rt.pool.acquire() as conn:
        rows = await inbox.list_items(
            conn,
            principal.subject,
            now=rt.clock.now(),
            unread_only=unread_only,
            limit=limit,
            before=before,
        )
    return [InboxItem.model_validate(r) for r in rows]


@router.get("/unread-count", response_model=UnreadCount)
async def unread_count(
    principal: Principal = Depends(participant), rt: Runtime = Depends(get_runtime)
) -> UnreadCount:
    async with rt.pool.acquire() as conn:
        return UnreadCount(unread=await inbox.unread_count(conn, principal.subject, now=rt.clock.now()))


@router.post("/{item_id}/read", response_model=Marked)
async def mark_read(
    item_id: UUID, principal: Principal = Depends(participant), rt: Runtime = Depends(get_runtime)
) -> Marked:
    async with rt.pool.acquire() as conn:
        if not await inbox.mark_read(conn, principal.subject, item_id, now=rt.clock.now()):
            raise Problem(404, "Not found", f"no notification {item_id} in your inbox")
    return Marked(marked=1)


@router.post("/read-all", response_model=Marked)
async def mark_all_read(
    principal: Principal = Depends(participant), rt: Runtime = Depends(get_runtime)
) -> Marked:
    async with rt.pool.acquire() as conn:
        return Marked(marked=await inbox.mark_all_read(conn, principal.subject, now=rt.clock.now()))
