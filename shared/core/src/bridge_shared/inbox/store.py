"""Inbox rows. Inserting one is the claim: a conflict means the event already had its effect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from bridge_shared.events.envelope import InboundEvent


async def claim(conn: asyncpg.Connection[Any], consumer: str, event: InboundEvent) -> bool:
    row = await conn.fetchval(
        """INSERT INTO inbox (consumer, event_id, event_type, topic, partition, "offset")
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (consumer, event_id) DO NOTHING RETURNING 1""",
        consumer,
        event.id,
        event.type,
        event.topic,
        event.partition,
        event.offset,
    )
    return row is not None


async def claim_many(
    conn: asyncpg.Connection[Any], consumer: str, events: Sequence[InboundEvent]
) -> list[InboundEvent]:
    """Claims a batch in one statement; returns the events not seen before, in input order."""
    if not events:
        return []
    rows = await conn.fetch(
        """INSERT INTO inbox (consumer, event_id, event_type, topic, partition, "offset")
           SELECT $1, e.id, e.type, e.topic, e.partition, e.off
           FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[])
                AS e(id, type, topic, partition, off)
           ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id""",
        consumer,
        [e.id for e in events],
        [e.type for e in events],
        [e.topic for e in events],
        [e.partition for e in events],
        [e.offset for e in events],
    )
    fresh = {r["event_id"] for r in rows}
    seen: set[str] = set()
    out = []
    for e in events:
        if e.id in fresh and e.id not in seen:  # a batch can carry the same id twice
            seen.add(e.id)
            out.append(e)
    return out
