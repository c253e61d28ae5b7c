"""cohort.created -> the cohort's inactivity threshold (and programme end), for the health scheduler."""

from __future__ import annotations

from typing import Any

import asyncpg

from bridge_shared.contracts.matching import CohortCreatedV1
from bridge_shared.events.envelope import InboundEvent
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime


def cohort_consumer(rt: Runtime) -> EventConsumer:
    consumer = consumer_for(rt, "cohorts", [CohortCreatedV1.topic])

    @consumer.on(CohortCreatedV1)  # type: ignore[untyped-decorator, unused-ignore]
    async def on_cohort_created(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        p = event.payload
        assert isinstance(p, CohortCreatedV1)
        await conn.execute(
            """INSERT INTO cohorts (cohort_id, name, regions, inactivity_threshold_days, programme_end)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (cohort_id) DO UPDATE SET name = EXCLUDED.name, regions = EXCLUDED.regions,
                   inactivity_threshold_days = EXCLUDED.inactivity_threshold_days,
                   programme_end = EXCLUDED.programme_end, updated_at = now()""",
            p.cohort_id,
            p.name,
            list(p.regions),
            p.inactivity_threshold_days,
            p.programme_end,
        )

    return consumer
