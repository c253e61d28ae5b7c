"""How the outbox relay hands a row to Kafka: to the aiokafka producer of the service's FastStream
broker (the broker's settings: idempotent, acks=all, the Kafka security), without FastStream's
per-message middleware (the relay traces and counts per batch), with a producer that comes back after
a fatal error.

An idempotent aiokafka producer numbers its batches per partition. When the broker rejects a batch
for good (say a record over the topic's `max.message.bytes`), aiokafka's numbers have already moved
on and every later batch to that partition is refused with OutOfOrderSequenceNumber, for as long as
the producer lives (or its sender task stops). The relay parks the rejected row; what else is needed
is a fresh producer (new producer id, sequences from zero) before the next send, which this does
when a send fails that way. Nothing acknowledged is lost by the swap; sends still in flight fail and
the relay resends them, in order per key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka import errors as kafka_errors
from faststream.kafka import KafkaBroker

from bridge_shared.outbox.relay import PendingRow, SendFn

log = logging.getLogger(__name__)

# The producer's own session is out of step with the broker: only a new producer can send again.
PRODUCER_SESSION_ERRORS = (
    kafka_errors.OutOfOrderSequenceNumber,
    kafka_errors.UnknownProducerId,
    kafka_errors.InvalidProducerEpoch,
    kafka_errors.ProducerFenced,
)


def _aiokafka_producer(broker: KafkaBroker) -> AIOKafkaProducer | None:
    # FastStream 0.7 keeps the aiokafka producer behind its producer state; None before connect().
    state = getattr(broker.config.broker_config.producer, "_producer", None)
    producer = getattr(state, "producer", None) if state else None
    return producer if isinstance(producer, AIOKafkaProducer) else None


def producer_failure(broker: KafkaBroker) -> BaseException | None:
    """The error that stopped the producer's sender task for good, or None while it can send."""
    producer = _aiokafka_producer(broker)
    sender = getattr(producer, "_sender", None)
    task: asyncio.Task[Any] | None = getattr(sender, "sender_task", None)
    if task is None or not task.done() or task.cancelled():
        return None
    return task.exception() or RuntimeError("the producer's sender stopped")


async def replace_producer(broker: KafkaBroker) -> None:
    """Swaps in a fresh producer built with the broker's own settings: `_connection_kwargs` holds
    them all, the Kafka security (SASL/SCRAM, TLS context) included, so the fresh producer
    authenticates as the service did (tests/shared/test_kafka_security.py)."""
    fast_producer = broker.config.broker_config.producer
    await fast_producer.disconnect()
    await fast_producer.connect(
        AIOKafkaProducer(**broker._connection_kwargs),
        serializer=broker.config.broker_config.fd_config._serializer,
    )


def send_now(broker: KafkaBroker) -> Callable[[], None]:
    """Makes the producer send the records it holds at once instead of when their batches' linger
    (5 ms) runs out: the relay calls it when a wave's rows are all handed over, then waits for
    their acks, so each wave (one row per key) no longer waits out the linger first.

    aiokafka has no public call for this (its `flush()` only waits, linger included). This does
    what its own `flush_for_commit()` does without waiting: it closes the accumulator's open
    batches (a closed batch is ready at once; a new send starts a new batch) and wakes its sender
    task. Guarded: should those internals change, it does nothing and the batches linger as before
    (tests/shared/test_outbox_relay_correctness.py notices)."""

    def flush() -> None:
        producer = _aiokafka_producer(broker)
        accumulator = getattr(producer, "_message_accumulator", None)
        batches = getattr(accumulator, "_batches", None)
        waiter = getattr(accumulator, "_waiter_future", None)
        if not isinstance(batches, dict) or not isinstance(waiter, asyncio.Future):
            return
        for queue in batches.values():
            for batch in queue:
                builder = getattr(batch, "_builder", None)
                close = getattr(builder, "close", None)
                if close is not None:
                    close()
        if not waiter.done():
            waiter.set_result(None)

    return flush


def outbox_sender(broker: KafkaBroker, topic_prefix: str = "") -> SendFn:
    """Sends outbox rows (which name contract topics) to `topic_prefix` + topic."""
    lock = asyncio.Lock()
    broken: list[BaseException] = []  # set by a send that failed with a producer-session error

    def watch(fut: asyncio.Future[Any]) -> None:
        if not fut.cancelled() and isinstance(fut.exception(), PRODUCER_SESSION_ERRORS):
            broken.append(fut.exception())  # type: ignore[arg-type]

    async def send(row: PendingRow) -> Awaitable[Any]:
        if broken or producer_failure(broker) is not None:
            async with lock:
                failure = broken[0] if broken else producer_failure(broker)
                if failure is not None:
                    log.warning("Kafka producer out of step (%r); starting a fresh one", failure)
                    await replace_producer(broker)
                    broken.clear()
        producer = _aiokafka_producer(broker)
        if producer is None:
            raise kafka_errors.KafkaConnectionError("the service's Kafka producer is not connected")
        # Straight to the producer: the headers are the stored ones (CloudEvents attributes and the
        # writer's trace context, so consumers continue the writer's trace); the relay makes one span
        # per batch and counts sends itself, instead of FastStream's span and metrics per message.
        headers = [(k, v.encode()) for k, v in row.headers.items()]
        if "correlation_id" not in row.headers:
            # FastStream's batch consumers link their span to each record's trace by this header.
            headers.append(("correlation_id", row.event_id.encode()))
        fut: asyncio.Future[Any] = await producer.send(
            topic_prefix + row.topic, row.payload, key=row.key.encode(), headers=headers
        )
        fut.add_done_callback(watch)
        return fut

    return send
