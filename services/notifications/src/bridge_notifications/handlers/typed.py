"""Registers use cases that take a typed payload as consumer handlers.

The shared consumer hands a handler the connection of its transaction and an `InboundEvent` whose
payload is typed as any `EventPayload`; `handle` checks the payload is the registered class (a
mismatch is a bug in the registration: dead-lettered at once) and passes it on typed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from bridge_shared.db.connection import Conn
from bridge_shared.events.envelope import InboundEvent
from bridge_shared.events.registry import EventPayload
from bridge_shared.messaging.consumer import EventConsumer, PermanentEventError

P = TypeVar("P", bound=EventPayload)


def handle(consumer: EventConsumer, kind: type[P], use_case: Callable[[Conn, P], Awaitable[None]]) -> None:
    async def handler(conn: Conn, event: InboundEvent) -> None:
        payload = event.payload
        if not isinstance(payload, kind):
            raise PermanentEventError(
                f"{event.type} decoded as {type(payload).__name__}, not {kind.__name__}"
            )
        await use_case(conn, payload)

    consumer.on(kind)(handler)
