"""Event consumers: decode, dedupe through the inbox, retry with backoff, dead-letter, keep moving.

- A record that is not a valid event goes straight to the dead-letter topic.
- A handler error is retried with exponential backoff and jitter; after the last attempt the record
  is dead-lettered and the partition moves on.
- An infrastructure error (database unreachable) is not the record's fault: the record is not
  committed and is read again after a pause, rather than dead-lettered.
- The inbox row and the handler's effects share one transaction, so a redelivery has no effect.
- The batch path claims and handles many events in one transaction; if that fails it falls back to
  one event at a time, so one poison record cannot sink its neighbours.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias

import asyncpg
from aiokafka.structs import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import trace
from tenacity import (
    AsyncRetrying,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from bridge_shared.db.connection import as_connection
from bridge_shared.events.envelope import (
    EnvelopeError,
    InboundEvent,
    decode_payload,
    parse_attributes,
)
from bridge_shared.events.registry import EventPayload
from bridge_shared.inbox.store import claim, claim_many
from bridge_shared.messaging.dead_letter import DeadLetter, DeadLetterPublisher

log = logging.getLogger(__name__)

Handler: TypeAlias = "Callable[[asyncpg.Connection[Any], InboundEvent], Awaitable[None]]"
BatchHandler: TypeAlias = "Callable[[asyncpg.Connection[Any], list[InboundEvent]], Awaitable[None]]"
Record: TypeAlias = "ConsumerRecord[bytes, bytes]"

INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
)


def is_infrastructure_error(exc: BaseException) -> bool:
    """A dependency is down, so retrying the same record later can succeed.

    asyncpg's client-side DataError (a bad query argument: a handler bug) is an InterfaceError too,
    so only connection-state InterfaceErrors count; anything else must dead-letter, never loop.
    """
    if isinstance(exc, INFRASTRUCTURE_ERRORS):
        return True
    if isinstance(exc, asyncpg.InterfaceError) and not isinstance(exc, ValueError):
        text = str(exc).lower()
        return "connection" in text or "pool is closing" in text
    return False


class _Infrastructure(Exception):
    """Internal: wraps an infrastructure error so the retry policy can tell it apart."""


class PermanentEventError(Exception):
    """Raised by a handler when retrying cannot help (the event contradicts stored state)."""


class InfrastructureUnavailable(Exception):
    """The record was not processed because a dependency is down; it will be read again."""


async def _raw_body(msg: Any) -> Any:
    return msg.body


class EventConsumer:
    """One consumer group of one service: handlers per event type, an inbox name, a DLQ."""

    def __init__(
        self,
        *,
        service: str,
        name: str,
        topics: Sequence[str],
        pool: Callable[[], asyncpg.Pool],
        max_attempts: int = 5,
        backoff_initial: float = 0.2,
        backoff_max: float = 5.0,
        batch: bool = False,
        batch_max_records: int = 500,
        on_dead_letter: Callable[[str], None] | None = None,
    ) -> None:
        self.service = service
        self.name = name
        self.group_id = f"bridge-{service}.{name}"
        self.inbox_name = f"{service}.{name}"
        self.topics = list(topics)
        self._pool = pool
        self.max_attempts = max_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.batch = batch
        self.batch_max_records = batch_max_records
        self._on_dead_letter = on_dead_letter
        self._handlers: dict[str, Handler] = {}
        self._batch_handler: BatchHandler | None = None
        self._dead_letters: DeadLetterPublisher | None = None
        self.subscriber: Any = None

    def on(self, *payloads: type[EventPayload]) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            for p in payloads:
                self._handlers[p.event_type] = fn
            return fn

        return register

    def on_batch(self, fn: BatchHandler) -> BatchHandler:
        """Optional: handles a whole batch of fresh events of the registered types at once."""
        self._batch_handler = fn
        return fn

    @property
    def handled_types(self) -> set[str]:
        return set(self._handlers)

    def attach(self, broker: KafkaBroker) -> None:
        self._dead_letters = DeadLetterPublisher(broker, service=self.service, consumer=self.name)
        common: dict[str, Any] = {
            "group_id": self.group_id,
            "auto_offset_reset": "earliest",
            "ack_policy": AckPolicy.NACK_ON_ERROR,
            "title": f"{self.service}.{self.name}",
            "description": "Handles: " + ", ".join(sorted(self._handlers)),
            # Decoding happens here, so a malformed body reaches the dead-letter path, not FastStream.
            "decoder": _raw_body,
        }
        if self.batch:
            sub = broker.subscriber(
                *self.topics,
                batch=True,
                max_records=self.batch_max_records,
                batch_timeout_ms=50,
                **common,
            )

            async def on_batch(msg: KafkaMessage) -> None:
                raw = msg.raw_message
                await self.process_batch(list(raw) if isinstance(raw, tuple) else [raw])

            self.subscriber = sub(on_batch)
        else:
            sub = broker.subscriber(*self.topics, **common)

            async def on_message(msg: KafkaMessage) -> None:
                raw = msg.raw_message
                assert not isinstance(raw, tuple)
                await self.process(raw)

            self.subscriber = sub(on_message)

    # -- decoding -----------------------------------------------------------------------------

    def decode(self, rec: Record) -> InboundEvent | None:
        """The event, or None when this consumer does not handle its type. Raises EnvelopeError."""
        attrs = parse_attributes(list(rec.headers or ()))
        if attrs.type not in self._handlers:
            return None
        payload = decode_payload(attrs, rec.value)
        key = rec.key.decode("utf-8", "replace") if rec.key is not None else None
        return InboundEvent(attrs, payload, rec.topic, rec.partition, rec.offset, key)

    # -- one at a time ------------------------------------------------------------------------

    async def process(self, rec: Record) -> None:
        trace.get_current_span().set_attribute("messaging.consumer.group.name", self.group_id)
        try:
            event = self.decode(rec)
        except EnvelopeError as exc:
            await self._dead_letter(rec, exc, attempts=1)
            return
        if event is None:
            return
        await self._handle_with_retries(rec, event)

    async def _handle_with_retries(self, rec: Record, event: InboundEvent) -> None:
        handler = self._handlers[event.type]
        attempts = 0
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.max_attempts),
                wait=wait_random_exponential(multiplier=self.backoff_initial, max=self.backoff_max),
                retry=retry_if_not_exception_type((PermanentEventError, _Infrastructure)),
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    try:
                        await self._apply(handler, event)
                    except Exception as exc:
                        if is_infrastructure_error(exc):
                            raise _Infrastructure() from exc
                        raise
        except _Infrastructure as wrapped:
            await self._pause_for_infrastructure(wrapped.__cause__ or wrapped)
        except Exception as exc:
            log.exception("event %s (%s) failed after %d attempts", event.id, event.type, attempts)
            await self._dead_letter(rec, exc, attempts=attempts)

    async def _apply(self, handler: Handler, event: InboundEvent) -> None:
        async with self._pool().acquire() as conn, conn.transaction():
            if await claim(as_connection(conn), self.inbox_name, event):
                await handler(as_connection(conn), event)

    # -- batches ------------------------------------------------------------------------------

    async def process_batch(self, records: list[Record]) -> None:
        # FastStream's batch span links to every record's producer trace; we add the group name.
        trace.get_current_span().set_attribute("messaging.consumer.group.name", self.group_id)
        await self._process_batch(records)

    async def _process_batch(self, records: list[Record]) -> None:
        decoded: list[tuple[Record, InboundEvent]] = []
        for rec in records:
            try:
                event = self.decode(rec)
            except EnvelopeError as exc:
                await self._dead_letter(rec, exc, attempts=1)
                continue
            if event is not None:
                decoded.append((rec, event))
        if not decoded:
            return
        try:
            async with self._pool().acquire() as conn, conn.transaction():
                fresh = await claim_many(as_connection(conn), self.inbox_name, [e for _, e in decoded])
                if self._batch_handler is not None:
                    await self._batch_handler(as_connection(conn), fresh)
                else:
                    for event in fresh:
                        await self._handlers[event.type](as_connection(conn), event)
            return
        except Exception as exc:
            if is_infrastructure_error(exc):
                await self._pause_for_infrastructure(exc)
            log.warning("batch of %d failed; retrying one event at a time", len(decoded), exc_info=True)
        for rec, event in decoded:
            await self._handle_with_retries(rec, event)

    # -- failure paths ------------------------------------------------------------------------

    async def _dead_letter(self, rec: Record, exc: BaseException, *, attempts: int) -> None:
        assert self._dead_letters is not None, "attach() the consumer to a broker first"
        log.warning(
            "dead-lettering %s[%d]@%d: %s",
            rec.topic,
            rec.partition,
            rec.offset,
            exc,
        )
        await self._dead_letters.send(DeadLetter(rec, f"{exc}", type(exc).__name__, attempts))
        if self._on_dead_letter is not None:
            self._on_dead_letter(type(exc).__name__)

    async def _pause_for_infrastructure(self, exc: BaseException) -> None:
        log.error("dependency unavailable, record will be read again: %s", exc)
        await asyncio.sleep(self.backoff_max)
        raise InfrastructureUnavailable(str(exc)) from exc
