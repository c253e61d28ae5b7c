"""What a running service holds: settings, the pool, the broker, the outbox and its relay.

`Runtime` is generic over the service's settings class, so `rt.settings.<field>` is typed in every
service without downcasts; each service's `api/deps.py` binds it once with `runtime_dependency`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg
from fastapi import Request
from faststream.kafka import KafkaBroker

from bridge_shared.messaging.topic_check import TopicCheck
from bridge_shared.observability.metrics import ServiceMetrics
from bridge_shared.outbox.relay import OutboxRelay
from bridge_shared.outbox.writer import Outbox
from bridge_shared.scheduling.clock import Clock, SystemClock
from bridge_shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)
T = TypeVar("T")


@dataclass
class Runtime(Generic[S]):
    settings: S
    broker: KafkaBroker
    outbox: Outbox
    _pool: asyncpg.Pool | None = None
    relay: OutboxRelay | None = None
    topic_check: TopicCheck | None = None
    metrics: ServiceMetrics | None = None
    clock: Clock = field(default_factory=SystemClock)
    # Components a service creates at start-up (its dispatcher, job runner, ...); read them with
    # `component()`, which checks the type, rather than indexing this dict.
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database pool not started")
        return self._pool

    def component(self, name: str, kind: type[T]) -> T:
        value = self.extras.get(name)
        if not isinstance(value, kind):
            raise RuntimeError(
                f"{name} is not started (expected {kind.__name__}, found {type(value).__name__})"
            )
        return value


def get_runtime(request: Request) -> Runtime[Any]:
    runtime: Runtime[Any] = request.app.state.runtime
    return runtime


def runtime_dependency(settings_type: type[S]) -> Callable[[Request], Runtime[S]]:
    """A FastAPI dependency returning the app's runtime typed with `settings_type`."""

    def dependency(request: Request) -> Runtime[S]:
        runtime = request.app.state.runtime
        if not isinstance(runtime.settings, settings_type):
            raise RuntimeError(f"this app's settings are not {settings_type.__name__}")
        typed: Runtime[S] = runtime
        return typed

    return dependency


def get_clock(request: Request) -> Clock:
    """The app's clock (a FrozenClock in tests): the one "now" routes, use cases and jobs agree on."""
    clock: Clock = request.app.state.runtime.clock
    return clock
