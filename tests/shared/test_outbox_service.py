"""The outbox as an SRE sees it through a running service: /metrics and /readyz read the truth from
the table (stuck relay, parked rows), and readiness names topics the broker lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import errors as kafka_errors
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic_settings import SettingsConfigDict

from bridge_shared.events.topics import dead_letter_topic
from bridge_shared.outbox.relay import PendingRow
from bridge_shared.service import ServiceDefinition, build_app
from bridge_shared.settings import ServiceSettings
from tests.service_harness import RunningService, auth, running_service
from tests.shared.events_for_tests import ThingHappened
from tests.shared.outbox_support import insert_raw

OPERATOR = auth("service")  # /readyz shows its checks to an operator only

pytestmark = pytest.mark.integration


class ThingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BRIDGE_THING_", extra="ignore")

    service_name: str = "thing"


def create_thing_app(settings: ThingSettings) -> FastAPI:
    return build_app(
        ServiceDefinition(
            settings=settings,
            title="Thing",
            description="A service that only publishes ThingHappened, for tests",
            migrations_package="",
            publishes=[ThingHappened],
        )
    )


@pytest.fixture
async def thing(admin_dsn: str, bootstrap_servers: str) -> AsyncIterator[RunningService]:
    async with running_service(
        create_thing_app,
        ThingSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        outbox_idle_poll_seconds=0.2,
        readiness_cache_seconds=0.5,
        readiness_outbox_stall_seconds=1.0,
    ) as svc:
        yield svc


async def _metrics(svc: RunningService) -> dict[str, float]:
    r = await svc.client.get("/metrics")
    assert r.status_code == 200
    return {
        s.name: s.value for fam in text_string_to_metric_families(r.text) for s in fam.samples if not s.labels
    }


async def _add(svc: RunningService, n: int) -> None:
    rt = svc.runtime
    async with rt.pool.acquire() as conn, conn.transaction():
        for i in range(n):
            await rt.outbox.add(conn, ThingHappened(thing_id=f"{svc.settings.service_name}-{i}", seq=i))


async def test_metrics_and_readiness_show_the_backlog_while_the_relay_is_stuck(thing: RunningService) -> None:
    rt = thing.runtime
    for _ in range(100):
        if rt.relay.is_leader:
            break
        await asyncio.sleep(0.05)

    async def broker_refuses(row: PendingRow) -> Any:
        raise kafka_errors.KafkaConnectionError("broker unreachable")

    rt.relay.send = broker_refuses
    await _add(thing, 3)
    await asyncio.sleep(0.5)
    first = await _metrics(thing)
    await asyncio.sleep(1.5)
    second = await _metrics(thing)
    assert first["bridge_outbox_pending"] == second["bridge_outbox_pending"] == 3
    assert (
        second["bridge_outbox_oldest_pending_seconds"] >= first["bridge_outbox_oldest_pending_seconds"] + 1.4
    )
    assert second["bridge_outbox_parked"] == 0  # a broker outage never parks rows
    assert second["bridge_outbox_relay_leader"] == 1
    r = await thing.client.get("/readyz", headers=OPERATOR)
    body = r.json()
    # Not "ready": the oldest row is older than readiness_outbox_stall_seconds (1 s here).
    assert r.status_code == 200 and body["status"] == "degraded", body
    assert any(reason.startswith("outbox stalled") for reason in body["degraded"]), body
    outbox = body["checks"]["outbox"]
    assert outbox["pending"] == 3 and outbox["oldest_pending_seconds"] >= 2
    assert outbox["leader"] is True and "KafkaConnectionError" in outbox["last_error"]


async def test_parked_rows_make_readiness_degraded_but_still_200(thing: RunningService) -> None:
    rt = thing.runtime
    async with rt.pool.acquire() as conn:
        await insert_raw(conn, f"{thing.settings.service_name}-bad", 1, headers={"ce_id": 1})
    for _ in range(100):
        r = await thing.client.get("/readyz", headers=OPERATOR)
        if r.json()["checks"]["outbox"]["parked"]:
            break
        await asyncio.sleep(0.1)
    body = r.json()
    assert r.status_code == 200 and body["status"] == "degraded", body
    assert body["checks"]["outbox"]["parked"] == 1
    assert (await _metrics(thing))["bridge_outbox_parked"] == 1


async def test_readiness_names_topics_the_broker_lost(thing: RunningService, bootstrap_servers: str) -> None:
    r = await thing.client.get("/readyz", headers=OPERATOR)
    assert r.status_code == 200 and r.json()["checks"]["topics"] == "ok", r.json()
    dlq = dead_letter_topic(thing.settings.service_name, thing.settings.kafka_topic_prefix)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_topics([dlq])
    finally:
        await admin.close()
    for _ in range(50):
        r = await thing.client.get("/readyz", headers=OPERATOR)
        if r.status_code == 503:
            break
        await asyncio.sleep(0.2)
    body = r.json()
    assert r.status_code == 503 and body["status"] == "not ready", body
    assert body["checks"]["topics"] == {"missing": [dlq]}
    assert body["checks"]["broker"] == "ok"
