"""Writes events to the outbox inside the caller's transaction."""

from __future__ import annotations

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
        if not conn.is_in_transaction():
            raise RuntimeError("Outbox.add must run inside the state change's transaction")
        evt = build_event(payload, source=self.source, subject=subject, time=time)
        headers = dict(evt.headers)
        # The writer's trace context rides along, so the relay's publish continues this trace.
        propagate.inject(headers)
        await conn.execute(
            """INSERT INTO outbox (event_id, topic, partition_key, event_type, headers, payload)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            evt.id,
            evt.topic,
            evt.key,
            evt.type,
            headers,
            evt.value,
        )
        # NOTIFY is delivered at commit and folded per transaction, so many events wake the relay once.
        await conn.execute("SELECT pg_notify($1, '')", notify_channel(self.schema))
        return evt
