"""The in-app inbox: items per employee, visible from their due time, withdrawn when cancelled."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Conn: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"


async def add(
    conn: Conn,
    *,
    key: str,
    employee_id: str,
    recipient_id: str,
    cohort_id: str | None,
    kind: str,
    subject: str,
    body: str,
    link: str | None,
    group_key: str | None,
    visible_at: datetime,
    now: datetime,
) -> bool:
    row = await conn.fetchval(
        """INSERT INTO inbox_items (id, dedup_key, employee_id, recipient_id, cohort_id, kind, subject, body,
                                    link, group_key, visible_at, created_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) ON CONFLICT (dedup_key) DO NOTHING RETURNING 1""",
        uuid.uuid4(),
        key,
        employee_id,
        recipient_id,
        cohort_id,
        kind,
        subject,
        body,
        link,
        group_key,
        visible_at,
        now,
    )
    return row is not None


async def withdraw_group(conn: Conn, group: str, *, prefix: bool, now: datetime) -> int:
    """Withdraws items of a group that have not become visible yet (a moved or cancelled reminder)."""
    pattern = group.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ("%" if prefix else "")
    result: str = await conn.execute(
        "UPDATE inbox_items SET withdrawn_at = $2 WHERE group_key LIKE $1 AND withdrawn_at IS NULL "
        "AND visible_at > $2",
        pattern,
        now,
    )
    return int(result.split()[-1])


async def list_items(
    conn: Conn, employee_id: str, *, now: datetime, unread_only: bool, limit: int, before: datetime | None
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT id, kind, subject, body, link, cohort_id, visible_at AS created_at, read_at
           FROM inbox_items
           WHERE employee_id = $1 AND withdrawn_at IS NULL AND visible_at <= $2
             AND (NOT $3 OR read_at IS NULL) AND ($5::timestamptz IS NULL OR visible_at < $5)
           ORDER BY visible_at DESC, id LIMIT $4""",
        employee_id,
        now,
        unread_only,
        limit,
        before,
    )
    return [dict(r) for r in rows]


async def unread_count(conn: Conn, employee_id: str, *, now: datetime) -> int:
    n: int = await conn.fetchval(
        "SELECT count(*) FROM inbox_items WHERE employee_id = $1 AND withdrawn_at IS NULL "
        "AND visible_at <= $2 AND read_at IS NULL",
        employee_id,
        now,
    )
    return n


async def mark_read(conn: Conn, employee_id: str, item_id: uuid.UUID, *, now: datetime) -> bool:
    result: str = await conn.execute(
        "UPDATE inbox_items SET read_at = coalesce(read_at, $3) WHERE id = $1 AND employee_id = $2 "
        "AND withdrawn_at IS NULL AND visible_at <= $3",
        item_id,
        employee_id,
        now,
    )
    return result.endswith(" 1")


async def mark_all_read(conn: Conn, employee_id: str, *, now: datetime) -> int:
    result: str = await conn.execute(
        "UPDATE inbox_items SET read_at = $2 WHERE employee_id = $1 AND read_at IS NULL "
        "AND withdrawn_at IS NULL AND visible_at <= $2",
        employee_id,
        now,
    )
    return int(result.split()[-1])
