"""The in-app inbox: items per employee, visible from their due time, withdrawn when cancelled."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from bridge_notifications.db import affected
from bridge_notifications.db.deliveries import like_pattern
from bridge_notifications.domain.planning import PlannedInboxItem
from bridge_shared.db.connection import Conn


@dataclass(frozen=True, slots=True)
class InboxItemRow:
    """An item as its owner sees it (created_at = when it became visible)."""

    id: uuid.UUID
    kind: str
    subject: str
    body: str
    link: str | None
    cohort_id: str | None
    created_at: datetime
    read_at: datetime | None


async def add(conn: Conn, item: PlannedInboxItem, *, now: datetime) -> bool:
    """False when an item with this dedup key exists already."""
    row = await conn.fetchval(
        """INSERT INTO inbox_items (id, dedup_key, employee_id, recipient_id, cohort_id, kind, subject, body,
                                    link, group_key, visible_at, created_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) ON CONFLICT (dedup_key) DO NOTHING RETURNING 1""",
        uuid.uuid4(),
        item.key,
        item.employee_id,
        item.recipient_id,
        item.cohort_id,
        item.kind,
        item.subject,
        item.body,
        item.link,
        item.group_key,
        item.visible_at,
        now,
    )
    return row is not None


async def withdraw_group(conn: Conn, group: str, *, prefix: bool, now: datetime) -> int:
    """Withdraws items of a group that have not become visible yet (a moved or cancelled reminder)."""
    result: str = await conn.execute(
        "UPDATE inbox_items SET withdrawn_at = $2 WHERE group_key LIKE $1 AND withdrawn_at IS NULL "
        "AND visible_at > $2",
        like_pattern(group, prefix=prefix),
        now,
    )
    return affected(result)


async def withdraw_for(conn: Conn, recipient_ids: list[str], *, now: datetime) -> int:
    """Withdraws the items of these recipients that have not become visible yet (they left the
    company: a reminder due later never shows up)."""
    result: str = await conn.execute(
        "UPDATE inbox_items SET withdrawn_at = $2 WHERE recipient_id = ANY($1::text[]) "
        "AND withdrawn_at IS NULL AND visible_at > $2",
        recipient_ids,
        now,
    )
    return affected(result)


# Visible to its owner: not withdrawn and due ($2 = now).
_VISIBLE = "employee_id = $1 AND withdrawn_at IS NULL AND visible_at <= $2"


async def list_items(
    conn: Conn, employee_id: str, *, now: datetime, unread_only: bool, limit: int, before: datetime | None
) -> list[InboxItemRow]:
    rows = await conn.fetch(
        f"""SELECT id, kind, subject, body, link, cohort_id, visible_at AS created_at, read_at
           FROM inbox_items
           WHERE {_VISIBLE}
             AND (NOT $3 OR read_at IS NULL) AND ($5::timestamptz IS NULL OR visible_at < $5)
           ORDER BY visible_at DESC, id LIMIT $4""",
        employee_id,
        now,
        unread_only,
        limit,
        before,
    )
    return [
        InboxItemRow(
            r["id"],
            r["kind"],
            r["subject"],
            r["body"],
            r["link"],
            r["cohort_id"],
            r["created_at"],
            r["read_at"],
        )
        for r in rows
    ]


async def get_item(conn: Conn, employee_id: str, item_id: uuid.UUID, *, now: datetime) -> InboxItemRow | None:
    """One item of the employee's inbox, if it is visible to them now."""
    r = await conn.fetchrow(
        f"""SELECT id, kind, subject, body, link, cohort_id, visible_at AS created_at, read_at
           FROM inbox_items WHERE {_VISIBLE} AND id = $3""",
        employee_id,
        now,
        item_id,
    )
    if r is None:
        return None
    return InboxItemRow(
        r["id"], r["kind"], r["subject"], r["body"], r["link"], r["cohort_id"], r["created_at"], r["read_at"]
    )


async def unread_count(conn: Conn, employee_id: str, *, now: datetime) -> int:
    n: int = await conn.fetchval(
        f"SELECT count(*) FROM inbox_items WHERE {_VISIBLE} AND read_at IS NULL", employee_id, now
    )
    return n


async def mark_read(conn: Conn, employee_id: str, item_id: uuid.UUID, *, now: datetime) -> bool:
    result: str = await conn.execute(
        f"UPDATE inbox_items SET read_at = coalesce(read_at, $2) WHERE {_VISIBLE} AND id = $3",
        employee_id,
        now,
        item_id,
    )
    return affected(result) == 1


async def mark_all_read(conn: Conn, employee_id: str, *, now: datetime) -> int:
    result: str = await conn.execute(
        f"UPDATE inbox_items SET read_at = $2 WHERE {_VISIBLE} AND read_at IS NULL", employee_id, now
    )
    return affected(result)
