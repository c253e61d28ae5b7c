"""Writes events to the outbox inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from opentelemetry import propagate

from bridge_shared.events.envelope import OutgoingEvent, build_event
from bridge_shared.events.registry import EventPayload


def notify_channel(schema: str) -> str:
    return f"{schema}_outbox"


class Outbox:
    """Bound to one service: its schema (for the NOTIFY channel) and its CloudEvents source."""

    def __init__(self, *, schema: str, source: str) -> None:
        self.schema = schema
        self.source = source

    async def add(
        self,
        conn: asyncpg.Connection[Any],
        payload: EventPayload,
        *,
        subject: str | None = None,
        time: datetime | None = None,
    ) -> OutgoingEvent:
        """Stores the event; it is published only if the surrounding transaction commits."""
        events = await self.add_many(conn, [(payload, subject)], time=time)
        return events[0]

    async def add_many(
        self,
        conn: asyncpg.Connection[Any],
        items: Sequence[tuple[EventPayload, str | None]],
        *,
        time: datetime | None = None,
    ) -> list[OutgoingEvent]:
        """Stores many (payload, subject) events with one statement, in order, for bulk changes."""
        if not conn.is_in_transaction():
            raise RuntimeError("Outbox.add must run inside the state change's transaction")
        if not items:
            return []
        # The writer's trace context rides along, so the relay's publish continues this trace.
        trace_headers: dict[str, str] = {}
        propagate.inject(trace_headers)
        events = [build_event(p, source=self.source, subject=subj, time=time) for p, subj in items]
        await conn.execute(
            # ORDER BY the input position, so ids (the relay's publish order) follow the caller's order.
            """INSERT INTO outbox (event_id, topic, partition_key, event_type, headers, payload)
               SELECT event_id, topic, partition_key, event_type, headers, payload
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::bytea[])
                    WITH ORDINALITY AS t(event_id, topic, partition_key, event_type, headers, payload, n)
               ORDER BY n""",
            [e.id for e in events],
            [e.topic for e in events],
            [e.key for e in events],
            [e.type for e in events],
            [{**e.headers, **trace_headers} for e in events],
            [e.value for e in events],
        )
        # NOTIFY is delivered at commit and folded per transaction, so many events wake the relay once.
        await conn.execute("SELECT pg_notify($1, '')", notify_channel(self.schema))
        return events
