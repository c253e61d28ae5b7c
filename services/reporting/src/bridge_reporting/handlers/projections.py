"""The read-model consumer: every event topic, batch path; each batch (or, on the fallback path,
each event) is applied by `app.projections.apply_events` in the consumer's transaction."""

from __future__ import annotations

from bridge_reporting.app.projections import (
    CONSUMER_NAME,
    ON_APPLIED,
    TOPICS,
    OnApplied,
    apply_events,
)
from bridge_reporting.domain.projection import HANDLED
from bridge_reporting.settings import ReportingSettings
from bridge_shared.db.connection import Conn
from bridge_shared.events.envelope import InboundEvent
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime


def projection_consumer(rt: Runtime[ReportingSettings]) -> EventConsumer:
    consumer = consumer_for(rt, CONSUMER_NAME, TOPICS, batch=True)
    on_applied = rt.component(ON_APPLIED, OnApplied) if ON_APPLIED in rt.extras else None

    @consumer.on(*HANDLED)
    async def one(conn: Conn, event: InboundEvent) -> None:
        # The fallback path (a batch failed): one event per transaction, same code.
        await apply_events(conn, [event])

    @consumer.on_batch
    async def many(conn: Conn, events: list[InboundEvent]) -> None:
        await apply_events(conn, events)
        if on_applied is not None:
            on_applied(len(events))

    return consumer
