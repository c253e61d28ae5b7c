"""Builds a service's consumers with the retry settings from its configuration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.runtime import Runtime


def consumer_for(rt: Runtime[Any], name: str, topics: Sequence[str], *, batch: bool = False) -> EventConsumer:
    s = rt.settings
    metrics = rt.metrics
    return EventConsumer(
        service=s.service_name,
        name=name,
        topics=topics,
        pool=lambda: rt.pool,
        max_attempts=s.consumer_max_attempts,
        backoff_initial=s.consumer_backoff_initial_seconds,
        backoff_max=s.consumer_backoff_max_seconds,
        batch=batch,
        batch_max_records=s.consumer_batch_max_records,
        revoke_timeout=s.consumer_revoke_timeout_seconds,
        fetch_max_wait_ms=s.consumer_fetch_max_wait_ms,
        batch_poll_ms=s.consumer_batch_poll_ms,
        topic_prefix=s.kafka_topic_prefix,
        on_dead_letter=(lambda cls: metrics.dead_letters.labels(name, cls).inc()) if metrics else None,
    )
