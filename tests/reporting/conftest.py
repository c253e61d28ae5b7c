"""One reporting service for the whole reporting suite (in-process, own schema and consumer group)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bridge_reporting.main import create_app
from bridge_reporting.settings import ReportingSettings
from bridge_shared.events.envelope import OutgoingEvent
from tests.service_harness import RunningService, auth, publish_event, running_service

HR = auth("hr_admin")


@pytest.fixture(scope="session")
async def reporting(admin_dsn: str, bootstrap_servers: str) -> AsyncIterator[RunningService]:
    async with running_service(
        create_app, ReportingSettings, admin_dsn=admin_dsn, bootstrap_servers=bootstrap_servers
    ) as svc:
        yield svc


async def publish(svc: RunningService, events: list[OutgoingEvent]) -> None:
    for evt in events:
        await publish_event(svc, evt)


async def eventually(
    probe: Callable[[], Awaitable[Any]], timeout: float = 30.0, what: str = "the read models to converge"
) -> Any:
    """Polls until `probe` returns a truthy value; fails with the last value otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}; last value: {last!r}")
