"""The in-app inbox of one employee (items become visible at their due time, by the clock)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from bridge_notifications.db import inbox
from bridge_notifications.db.inbox import InboxItemRow
from bridge_shared.db.connection import connection
from bridge_shared.errors import Problem

__all__ = ["InboxItemRow", "item", "items", "mark_all_read", "mark_read", "unread_count"]


async def items(
    pool: asyncpg.Pool,
    employee_id: str,
    *,
    now: datetime,
    unread_only: bool,
    limit: int,
    before: datetime | None,
) -> list[InboxItemRow]:
    async with connection(pool) as conn:
        return await inbox.list_items(
            conn, employee_id, now=now, unread_only=unread_only, limit=limit, before=before
        )


async def item(pool: asyncpg.Pool, employee_id: str, item_id: uuid.UUID, *, now: datetime) -> InboxItemRow:
    """One item of the caller's own inbox (another person's is not found: 404)."""
    async with connection(pool) as conn:
        row = await inbox.get_item(conn, employee_id, item_id, now=now)
    if row is None:
        raise Problem(404, "Not found", f"There is no notification {item_id} in your inbox.")
    return row


async def unread_count(pool: asyncpg.Pool, employee_id: str, *, now: datetime) -> int:
    async with connection(pool) as conn:
        return await inbox.unread_count(conn, employee_id, now=now)


async def mark_read(pool: asyncpg.Pool, employee_id: str, item_id: uuid.UUID, *, now: datetime) -> None:
    async with connection(pool) as conn:
        if not await inbox.mark_read(conn, employee_id, item_id, now=now):
            raise Problem(404, "Not found", f"no notification {item_id} in your inbox")


async def mark_all_read(pool: asyncpg.Pool, employee_id: str, *, now: datetime) -> int:
    async with connection(pool) as conn:
        return await inbox.mark_all_read(conn, employee_id, now=now)
