"""The FastStream Kafka broker every service uses, with W3C trace context in message headers."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware

from bridge_shared.messaging.client_security import client_kwargs, faststream_security
from bridge_shared.messaging.partitioner import default_partitioner
from bridge_shared.messaging.security import KafkaSecuritySettings
from bridge_shared.observability.tracing import tracer_provider

log = logging.getLogger(__name__)


def bootstrap_list(bootstrap_servers: str) -> list[str]:
    """`host1:9092,host2:9092` as a list. FastStream wraps a plain string in a one-element list, which
    aiokafka then reads as one host named `host1:9092,host2`, so every multi-broker bootstrap failed."""
    return [s.strip() for s in bootstrap_servers.split(",") if s.strip()]


def create_broker(
    bootstrap_servers: str,
    *,
    service: str,
    middlewares: Sequence[Any] = (),
    security: KafkaSecuritySettings | None = None,
) -> KafkaBroker:
    """The service's broker; `security` (the service's settings) decides SASL/TLS, PLAINTEXT when None.
    Its producer settings (`broker._connection_kwargs`, security included) are reused by the relay."""
    # Idempotent with acks=all: a retried send is written once and in order per partition; consumers
    # still dedupe through the inbox (the outbox relay can resend after a crash).
    return KafkaBroker(
        bootstrap_list(bootstrap_servers),
        client_id=f"bridge-{service}",
        security=faststream_security(security),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        partitioner=default_partitioner,  # Kafka's rule, hashed in half the time (messaging/partitioner.py)
        middlewares=[KafkaTelemetryMiddleware(tracer_provider=tracer_provider()), *middlewares],
        description=f"Bridge {service} service events",
        logger=logging.getLogger(f"bridge.{service}.broker"),
        # FastStream's "Received" / "Processed" line per message goes to DEBUG: at thousands of events
        # a second an INFO line each is a cost and noise; failures are still logged as errors.
        log_level=logging.DEBUG,
    )


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str],
    *,
    partitions: int,
    replication_factor: int = 1,
    security: KafkaSecuritySettings | None = None,
    client_id: str = "bridge-admin",
) -> None:
    """Create missing topics; production clusters usually disable auto-creation."""
    wanted = sorted(set(topics))
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_list(bootstrap_servers), client_id=client_id, **client_kwargs(security)
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            # Another instance may win the race to create them.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(t, num_partitions=partitions, replication_factor=replication_factor)
                        for t in missing
                    ]
                )
            log.info("created topics", extra={"topics": missing})
    finally:
        await admin.close()
