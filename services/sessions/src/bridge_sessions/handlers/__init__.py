"""Kafka consumers: decode, call a use case; nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from bridge_sessions.app import Conn
from bridge_shared.events.envelope import InboundEvent
from bridge_shared.events.registry import EventPayload
from bridge_shared.messaging.consumer import EventConsumer, PermanentEventError

P = TypeVar("P", bound=EventPayload)


def handle(consumer: EventConsumer, kind: type[P], use_case: Callable[[Conn, P], Awaitable[None]]) -> None:
    """Registers `use_case` for events of `kind`, handing it the payload already narrowed to `kind`."""

    async def handler(conn: Conn, event: InboundEvent) -> None:
        payload = event.payload
        if not isinstance(payload, kind):  # the registry decoded another type under this event type
            raise PermanentEventError(
                f"{event.type} decoded as {type(payload).__name__}, not {kind.__name__}"
            )
        await use_case(conn, payload)

    consumer.on(kind)(handler)
