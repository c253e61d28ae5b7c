"""One matching service (in-process, real PostgreSQL + broker) per test module, with a FrozenClock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bridge_matching.main import create_app
from bridge_matching.settings import MatchingSettings
from bridge_shared.scheduling.clock import FrozenClock
from tests.service_harness import RunningService, running_service


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    return FrozenClock(datetime(2027, 1, 25, 9, 0, tzinfo=UTC))


@pytest.fixture(scope="module")
async def svc(admin_dsn: str, bootstrap_servers: str, clock: FrozenClock) -> AsyncIterator[RunningService]:
    async with running_service(
        lambda s: create_app(s, clock=clock),
        MatchingSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        proposal_ttl_hours=48,
        expiry_interval_seconds=0,
        outbox_idle_poll_seconds=0.5,
    ) as running:
        yield running
