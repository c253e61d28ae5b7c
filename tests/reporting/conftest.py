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
from tests.reporting import scenario
from tests.service_harness import RunningService, auth, publish_event, running_service

HR = auth("hr_admin")


@pytest.fixture(scope="session")
async def reporting(admin_dsn: str, bootstrap_servers: str) -> AsyncIterator[RunningService]:
    # The scenarios' dates are fixed (2026): the longest retention keeps them (and what the rebuild
    # re-applies) unchanged for years; test_privacy tests retention on a service of its own.
    async with running_service(
        create_app,
        ReportingSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        retention_timeline_days=3650,
        retention_closed_programme_days=3650,
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


async def converged(svc: RunningService, cohort_id: str) -> dict[str, Any]:
    """Waits until the cohort's overview shows the scenario's figures; fails with the difference."""

    async def probe() -> dict[str, Any] | None:
        k: dict[str, Any] = (await overview(svc, cohort_id))["kpis"]
        return k if k == scenario.EXPECTED else None

    try:
        result: dict[str, Any] = await eventually(probe, timeout=30)
    except BaseException:
        k = (await overview(svc, cohort_id))["kpis"]
        diff = {f: (k.get(f), v) for f, v in scenario.EXPECTED.items() if k.get(f) != v}
        pytest.fail(f"figures differ from expected (got, want): {diff}")
    return result


async def published_scenario(svc: RunningService) -> scenario.Scenario:
    """A fresh scenario, published and projected."""
    sc = scenario.build()
    await publish(svc, sc.events)
    await converged(svc, sc.cohort_id)
    return sc


async def overview(
    svc: RunningService, cohort_id: str, headers: dict[str, str] = HR, **params: Any
) -> dict[str, Any]:
    r = await svc.client.get("/reports/overview", params={"cohort_id": cohort_id, **params}, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body
