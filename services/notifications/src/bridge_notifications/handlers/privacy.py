"""Data-protection requests from matching (erasure, export), answered in the consumer's transaction."""

from __future__ import annotations

from bridge_notifications.app import privacy
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts.privacy import ErasureRequestedV1, ExportRequestedV1
from bridge_shared.db.connection import Conn
from bridge_shared.events import topics
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime


def privacy_consumer(rt: Runtime[NotificationsSettings]) -> EventConsumer:
    consumer = consumer_for(rt, "privacy", [topics.MATCHING_PRIVACY])

    async def on_erasure(conn: Conn, request: ErasureRequestedV1) -> None:
        await privacy.erase(conn, rt.outbox, request, rt.clock.now())

    async def on_export(conn: Conn, request: ExportRequestedV1) -> None:
        await privacy.export(conn, rt.outbox, request)

    consumer.handle(ErasureRequestedV1, on_erasure)
    consumer.handle(ExportRequestedV1, on_export)
    return consumer
