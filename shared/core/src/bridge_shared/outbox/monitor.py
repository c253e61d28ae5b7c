"""The outbox's state as the table tells it, for /readyz, /metrics and the operator tool.

Computed from the table on each call, never from what the relay last managed to do, so the numbers
stay true while the relay is stuck, down or on another instance.
"""

from __future__ import annotations

from typing import Any, TypedDict

import asyncpg

from bridge_shared.db.connection import connection

# Each part reads through a partial index (pending / parked), never the published history.
STATUS_SQL = """
SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL AND parked_at IS NULL) AS pending,
       (SELECT extract(epoch FROM now() - min(created_at))::float8
          FROM outbox WHERE published_at IS NULL AND parked_at IS NULL) AS oldest_pending_seconds,
       (SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL AND discarded_at IS NULL) AS parked,
       (SELECT count(*) FROM outbox c
         WHERE c.published_at IS NULL AND c.parked_at IS NULL
           AND EXISTS (SELECT 1 FROM outbox p
                        WHERE p.parked_at IS NOT NULL AND p.discarded_at IS NULL
                          AND p.topic = c.topic AND p.partition_key = c.partition_key
                          AND p.id < c.id)) AS held
"""


class OutboxStatus(TypedDict):
    pending: int  # not yet published and not parked (includes `held`)
    oldest_pending_seconds: float | None
    parked: int  # set aside with a reason; `bridge-outbox list` shows them
    held: int  # pending rows waiting behind a parked row of their own key


async def outbox_status(conn: asyncpg.Connection[Any]) -> OutboxStatus:
    row = await conn.fetchrow(STATUS_SQL)
    assert row is not None
    return {
        "pending": row["pending"],
        "oldest_pending_seconds": row["oldest_pending_seconds"],
        "parked": row["parked"],
        "held": row["held"],
    }


async def pool_outbox_status(pool: asyncpg.Pool) -> OutboxStatus:
    async with connection(pool) as conn:
        return await outbox_status(conn)
