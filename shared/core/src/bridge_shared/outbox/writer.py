"""Writes events to the outbox inside the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from opentelemetry import propagate

from bridge_shared.events.envelope import OutgoingEvent, build_event
from bridge_shared.events.registry import EventPayload
from bridge_shared.privacy.sealing import Keys, has_personal_fields, subjects_to_seal
from bridge_shared.privacy.vault import VAULT

DEFAULT_MAX_EVENT_BYTES = 1_000_000


def notify_channel(schema: str) -> str:
    return f"{schema}_outbox"


def record_size(key: str, value: bytes, headers: Mapping[str, str]) -> int:
    """Bytes of one Kafka record's key, value and headers (what the broker's size limit counts)."""
    return (
        len(key.encode())
        + len(value)
        + sum(len(k.encode()) + len(str(v).encode()) for k, v in headers.items())
    )


class EventTooLarge(ValueError):
    """An event that the broker would refuse; raised before anything is stored.

    `field` is the payload's largest top-level field, the one to make smaller.
    """

    def __init__(self, *, event_type: str, size: int, limit: int, field: str | None, field_size: int) -> None:
        self.event_type = event_type
        self.size = size
        self.limit = limit
        self.field = field
        self.field_size = field_size
        where = f"; its largest field {field!r} is {field_size} bytes" if field else ""
        super().__init__(f"event {event_type} is {size} bytes, over the {limit}-byte limit{where}")


def _largest_field(payload: EventPayload) -> tuple[str | None, int]:
    sizes = {
        name: len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        for name, value in payload.model_dump(mode="json").items()
    }
    if not sizes:
        return None, 0
    name = max(sizes, key=lambda n: sizes[n])
    return name, sizes[name]


class Outbox:
    """Bound to one service: its schema (for the NOTIFY channel) and its CloudEvents source.

    Events bigger than `max_event_bytes` (key + value + headers) are refused with EventTooLarge.
    """

    def __init__(
        self,
        *,
        schema: str,
        source: str,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        schema_base_url: str | None = None,
    ) -> None:
        """`schema_base_url`: where this service serves its event schemas (each event's dataschema)."""
        self.schema = schema
        self.source = source
        self.schema_base_url = schema_base_url
        self.max_event_bytes = max_event_bytes

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
        # Personal fields are sealed under their people's keys, created here on first use (docs/privacy.md).
        subjects: set[str] = set()
        for p, _ in items:
            if has_personal_fields(type(p)):
                subjects |= subjects_to_seal(type(p), p.model_dump(mode="json"))
        keys: Keys = await VAULT.keys_for_sealing(conn, subjects) if subjects else {}
        events = [
            build_event(
                p,
                source=self.source,
                subject=subj,
                time=time,
                schema_base_url=self.schema_base_url,
                keys=keys,
            )
            for p, subj in items
        ]
        for (payload, _), e in zip(items, events, strict=True):
            size = record_size(e.key, e.value, {**e.headers, **trace_headers})
            if size > self.max_event_bytes:
                field, field_size = _largest_field(payload)
                raise EventTooLarge(
                    event_type=e.type,
                    size=size,
                    limit=self.max_event_bytes,
                    field=field,
                    field_size=field_size,
                )
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
