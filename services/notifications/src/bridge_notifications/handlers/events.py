"""One consumer for every event the routing table names (plus cohort.created for HR contacts)."""

from __future__ import annotations

from typing import Any

import asyncpg

from bridge_notifications.db import directory
from bridge_notifications.domain import routing
from bridge_notifications.domain.planner import Planner
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts.matching import CohortCreatedV1
from bridge_shared.events.envelope import InboundEvent
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime


def routing_consumer(rt: Runtime) -> EventConsumer:
    topics = sorted({p.topic for p in routing.ROUTED_PAYLOADS} | {CohortCreatedV1.topic})
    consumer = consumer_for(rt, "routing", topics)
    settings: NotificationsSettings = rt.settings  # type: ignore[assignment, unused-ignore]
    planner = Planner(settings)
    clock = rt.clock

    async def on_cohort(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        p = event.payload
        assert isinstance(p, CohortCreatedV1)
        await directory.upsert_cohort(
            conn, p.cohort_id, name=p.name, hr_contact_email=str(p.hr_contact_email), regions=list(p.regions)
        )

    async def on_routed(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        await planner.apply(conn, event, clock.now())

    consumer.on(CohortCreatedV1)(on_cohort)
    consumer.on(*routing.ROUTED_PAYLOADS)(on_routed)
    return consumer
