"""SQL of the retention job: old finished deliveries and old inbox items, deleted in bounded batches
(the oldest first). Every cut-off is computed from the injected clock by the caller."""

from __future__ import annotations

from datetime import datetime

from bridge_notifications.db import affected
from bridge_shared.db.connection import Conn


async def delete_finished_deliveries(conn: Conn, *, before: datetime, limit: int) -> int:
    """Deliveries that are done (sent, failed, cancelled, or folded into a digest), last touched
    before `before` (the literal status list matches the partial index `deliveries_finished`)."""
    result: str = await conn.execute(
        """DELETE FROM deliveries WHERE id IN (
               SELECT id FROM deliveries d
               WHERE d.status IN ('sent', 'failed', 'cancelled', 'digested')
                 AND coalesce(d.updated_at, d.created_at) < $1
               ORDER BY coalesce(d.updated_at, d.created_at) LIMIT $2 FOR UPDATE SKIP LOCKED)""",
        before,
        limit,
    )
    return affected(result)


async def delete_read_inbox_items(conn: Conn, *, before: datetime, limit: int) -> int:
    result: str = await conn.execute(
        """DELETE FROM inbox_items WHERE id IN (
               SELECT id FROM inbox_items WHERE read_at IS NOT NULL AND read_at < $1
               ORDER BY read_at LIMIT $2 FOR UPDATE SKIP LOCKED)""",
        before,
        limit,
    )
    return affected(result)


async def delete_unread_inbox_items(conn: Conn, *, before: datetime, limit: int) -> int:
    """Never read (or withdrawn before they were), visible since before `before`."""
    result: str = await conn.execute(
        """DELETE FROM inbox_items WHERE id IN (
               SELECT id FROM inbox_items WHERE read_at IS NULL AND visible_at < $1
               ORDER BY visible_at LIMIT $2 FOR UPDATE SKIP LOCKED)""",
        before,
        limit,
    )
    return affected(result)
