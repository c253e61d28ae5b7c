"""Runs one service in-process, with its lifespan, against the real database and broker.

Each use gets its own role, schema, service name (so its own consumer groups and dead-letter topic),
and an httpx client. Consumers read shared topics from the beginning, so tests filter by the ids
they created. Services get a topic prefix of their test area (tests/<area>) and pytest process
(`topic_prefix()`), so processes sharing one Kafka cluster, and areas sharing one xdist worker (whose
long-lived services may still run), never see each other's events; publish test events with
`publish_event`, which applies it.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from bridge_shared.auth.tokens import mint_token
from bridge_shared.db.provision import provision
from bridge_shared.settings import (
    DEFAULT_JWT_AUDIENCE,
    DEFAULT_JWT_ISSUER,
    DEV_JWT_SECRET,
    ServiceSettings,
)

S = TypeVar("S", bound=ServiceSettings)

_RUN = os.environ.get("BRIDGE_TEST_TOPIC_PREFIX") or f"t{uuid.uuid4().hex[:10]}"
_PREFIXES: dict[str, str] = {}


def topic_prefix() -> str:
    """This process's topic prefix for the test area now running (PYTEST_CURRENT_TEST names the
    test being set up, run or torn down, whatever the scope of the fixture asking)."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    parts = current.split("::", 1)[0].split("/")
    area = parts[1] if len(parts) > 2 and parts[0] == "tests" else "tests"
    return _PREFIXES.setdefault(area, f"{_RUN}-{area.replace('_', '-')}.")


def token(*roles: str, sub: str = "tester", regions: tuple[str, ...] = ()) -> str:
    return mint_token(
        secret=DEV_JWT_SECRET,
        subject=sub,
        roles=list(roles),
        regions=list(regions),
        issuer=DEFAULT_JWT_ISSUER,
        audience=DEFAULT_JWT_AUDIENCE,
    )


def auth(*roles: str, sub: str = "tester", regions: tuple[str, ...] = ()) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(*roles, sub=sub, regions=regions)}"}


@dataclass
class RunningService:
    app: FastAPI
    client: httpx.AsyncClient
    settings: ServiceSettings

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime


@asynccontextmanager
async def running_service(
    create_app: Callable[[S], FastAPI],
    settings_cls: type[S],
    *,
    admin_dsn: str,
    bootstrap_servers: str,
    **overrides: Any,
) -> AsyncIterator[RunningService]:
    base = settings_cls.model_fields["service_name"].default
    name = f"{base}_{uuid.uuid4().hex[:8]}"
    # matching is the privacy coordinator: its role may destroy keys in the vault, as bridge-provision grants.
    dsn = await provision(admin_dsn, name, secrets.token_hex(8), can_erase=base == "matching")
    settings = settings_cls(
        service_name=name,
        db_schema=name,
        database_url=dsn,
        kafka_bootstrap_servers=bootstrap_servers,
        environment="test",
        # The pipeline probe writes outbox rows on a timer: off unless a test asks for it.
        **(
            {"kafka_topic_prefix": topic_prefix(), "log_json": False, "probe_interval_seconds": 0} | overrides
        ),
    )
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield RunningService(app, client, settings)


async def publish_event(svc: RunningService, evt: Any) -> None:
    """Publishes a built event (`bridge_shared.events.envelope.build_event`) as the producing
    service's relay would: to the contract topic under this run's prefix, keyed by aggregate id."""
    topic = svc.settings.kafka_topic_prefix + evt.topic
    await svc.runtime.broker.publish(evt.value, topic, key=evt.key.encode(), headers=evt.headers)
