"""What a running service holds: settings, the pool, the broker, the outbox and its relay."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg
from fastapi import Request
from faststream.kafka import KafkaBroker

from bridge_shared.messaging.topic_check import TopicCheck
from bridge_shared.observability.metrics import ServiceMetrics
from bridge_shared.outbox.relay import OutboxRelay
from bridge_shared.outbox.writer import Outbox
from bridge_shared.scheduling.clock import Clock, SystemClock
from bridge_shared.settings import ServiceSettings


@dataclass
class Runtime:
    settings: ServiceSettings
    broker: KafkaBroker
    outbox: Outbox
    _pool: asyncpg.Pool | None = None
    relay: OutboxRelay | None = None
    topic_check: TopicCheck | None = None
    metrics: ServiceMetrics | None = None
    clock: Clock = field(default_factory=SystemClock)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database pool not started")
        return self._pool


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime
