"""One consumer for every event the routing table names (plus cohort.created for HR contacts, and
feedback.submitted for the programme health of HR's weekly digest)."""

from __future__ import annotations

from bridge_notifications.app import directory, health
from bridge_notifications.app.planning import Planner
from bridge_notifications.domain import routing
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts.matching import CohortCreatedV1
from bridge_shared.contracts.sessions import FeedbackSubmittedV1
from bridge_shared.db.connection import Conn
from bridge_shared.events.envelope import InboundEvent
from bridge_shared.messaging.consumer import EventConsumer, PermanentEventError
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime


def routing_consumer(rt: Runtime[NotificationsSettings]) -> EventConsumer:
    topics = sorted({p.topic for p in routing.ROUTED_PAYLOADS} | {CohortCreatedV1.topic})
    clock = rt.clock
    # Batches: one transaction and one offset commit per batch (a cohort's publish or an import sends
    # thousands at once); a batch that fails is retried one event at a time.
    consumer = consumer_for(rt, "routing", topics, batch=True)
    planner = Planner(rt.settings)

    async def on_routed(conn: Conn, event: InboundEvent) -> None:
        payload = event.payload
        if not isinstance(payload, routing.ROUTED_PAYLOADS):
            raise PermanentEventError(f"{event.type} is not in the routing table")
        await health.record(conn, event.id, payload)
        await planner.apply(conn, event.id, event.type, payload, clock.now())

    async def on_feedback(conn: Conn, event: InboundEvent) -> None:
        await health.record(conn, event.id, event.payload)

    consumer.handle(CohortCreatedV1, directory.record_cohort)
    consumer.on(FeedbackSubmittedV1)(on_feedback)
    consumer.on(*routing.ROUTED_PAYLOADS)(on_routed)
    return consumer
