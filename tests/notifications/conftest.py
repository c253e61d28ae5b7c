"""One notifications service in-process (real PostgreSQL + broker) with a frozen clock; the
dispatcher and the periodic jobs are driven by hand so tests never sleep for time to pass."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bridge_notifications.app.dispatch import Dispatcher
from bridge_notifications.main import create_app
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.scheduling.clock import FrozenClock
from tests.notifications.support import Sink, Webhooks, at, dispatching
from tests.service_harness import RunningService, running_service

START = at(2025, 3, 3, 9, 0)

SERVICE_OVERRIDES = {
    "consumer_max_attempts": 2,  # shared topics hold other suites' events about unknown people
    "consumer_backoff_initial_seconds": 0.05,
    "consumer_backoff_max_seconds": 0.2,
    "outbox_idle_poll_seconds": 0.5,
    "app_base_url": "https://bridge.test",
    "preferences_base_url": "https://bridge.test/preferences",
    "unsubscribe_base_url": "https://bridge.test/unsubscribe",
    "retry_base_seconds": 30.0,
    "email_rate_per_second": 0.0,
    "chat_rate_per_second": 0.0,
    # The tests' webhook receiver listens on loopback over plain HTTP.
    "chat_webhook_allowed_hosts": ["127.0.0.1"],
    "chat_webhook_require_https": False,
}


@pytest.fixture(scope="session")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sink]:
    s = Sink(Path(tmp_path_factory.mktemp("mail")) / "maildir", reject={"bounce@invalid.example"}).start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def hooks() -> Iterator[Webhooks]:
    w = Webhooks().start()
    yield w
    w.stop()


@pytest.fixture(scope="session")
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture(scope="session")
async def svc(
    admin_dsn: str, bootstrap_servers: str, clock: FrozenClock, sink: Sink
) -> AsyncIterator[RunningService]:
    async with running_service(
        lambda st: create_app(st, clock=clock, dispatcher=False, jobs=False),
        NotificationsSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        smtp_port=sink.port,
        **SERVICE_OVERRIDES,
    ) as running:
        yield running


@pytest.fixture
async def dispatcher(svc: RunningService, clock: FrozenClock) -> AsyncIterator[Dispatcher]:
    async with dispatching(svc, clock) as d:
        yield d
