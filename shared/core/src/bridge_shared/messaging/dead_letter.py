"""Dead-letter publishing: the original record, plus headers saying where it came from and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaBroker

from bridge_shared.events.topics import dead_letter_topic

MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class DeadLetter:
    record: ConsumerRecord[bytes, bytes]
    error: str
    error_class: str
    attempts: int


class DeadLetterPublisher:
    def __init__(self, broker: KafkaBroker, *, service: str, consumer: str, topic_prefix: str = "") -> None:
        self.broker = broker
        self.service = service
        self.consumer = consumer
        self.topic = dead_letter_topic(service, topic_prefix)

    async def send(self, letter: DeadLetter) -> None:
        rec = letter.record
        headers = {k: v.decode("utf-8", "replace") for k, v in (rec.headers or ())}
        # W3C headers are dropped so the dead letter gets the current (consumer) trace instead.
        headers.pop("traceparent", None)
        headers.pop("tracestate", None)
        headers.update(
            {
                "dlq_original_topic": rec.topic,
                "dlq_original_partition": str(rec.partition),
                "dlq_original_offset": str(rec.offset),
                "dlq_error": letter.error[:MAX_ERROR_CHARS],
                "dlq_error_class": letter.error_class,
                "dlq_service": self.service,
                "dlq_consumer": self.consumer,
                "dlq_attempts": str(letter.attempts),
                "dlq_failed_at": datetime.now(UTC).isoformat(),
            }
        )
        await self.broker.publish(rec.value or b"", self.topic, key=rec.key, headers=headers)
