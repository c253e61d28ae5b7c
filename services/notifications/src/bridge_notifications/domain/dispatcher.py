"""Sends due deliveries. Woken by NOTIFY when rows are created, and polls for scheduled ones.

Each row is leased before sending (SKIP LOCKED), so two instances never send the same row, and the
outcome is written with its notification.sent / notification.failed event in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bridge_notifications.channels.email import EmailChannel, build_message
from bridge_notifications.channels.errors import PermanentDeliveryError, TransientDeliveryError
from bridge_notifications.db import deliveries
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts.notifications import NotificationFailedV1, NotificationSentV1
from bridge_shared.runtime import Runtime

log = logging.getLogger(__name__)


def backoff_seconds(attempt: int, *, base: float = 2.0, cap: float = 900.0) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * 2 ** max(attempt - 1, 0)))


class Dispatcher:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.settings: NotificationsSettings = rt.settings  # type: ignore[assignment]
        self.email = EmailChannel(self.settings)
        self._wake = asyncio.Event()

    async def run(self) -> None:
        listener: asyncpg.Connection[Any] | None = None
        while True:
            try:
                if listener is None or listener.is_closed():
                    listener = await asyncpg.connect(self.settings.database_url)
                    await listener.add_listener("notifications_dispatch", lambda *_: self._wake.set())
                self._wake.clear()
                while await self.dispatch_once() == self.settings.dispatch_batch_size:
                    pass
            except asyncio.CancelledError:
                if listener is not None:
                    await listener.close()
                raise
            except Exception:
                log.exception("dispatch loop error")
                listener = None
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.dispatch_poll_seconds)
            except TimeoutError:
                pass

    async def dispatch_once(self) -> int:
        async with self.rt.pool.acquire() as conn:
            rows = await deliveries.lease_due(conn, limit=self.settings.dispatch_batch_size,
                                              lease_seconds=self.settings.dispatch_lease_seconds)
        await asyncio.gather(*(self._deliver(r) for r in rows))
        return len(rows)

    async def _deliver(self, row: Any) -> None:
        try:
            if row["channel"] == "email":
                await self.email.send(build_message(
                    sender=self.settings.mail_from, to=row["to_address"], subject=row["subject"],
                    text=row["body_text"], html=row["body_html"], attachments=row["attachments"],
                    dedup_key=row["dedup_key"]))
            else:
                raise PermanentDeliveryError(f"channel {row['channel']} is not configured")
        except TransientDeliveryError as exc:
            if row["attempts"] < self.settings.dispatch_max_attempts:
                async with self.rt.pool.acquire() as conn:
                    await deliveries.reschedule(conn, row["id"], backoff_seconds(row["attempts"]), str(exc))
                return
            await self._failed(row, f"gave up after {row['attempts']} attempts: {exc}", permanent=False)
            return
        except PermanentDeliveryError as exc:
            await self._failed(row, str(exc), permanent=True)
            return
        async with self.rt.pool.acquire() as conn, conn.transaction():
            await deliveries.mark_sent(conn, row["id"])
            await self.rt.outbox.add(conn, NotificationSentV1(
                notification_id=str(row["id"]), recipient_id=row["recipient_id"], cohort_id=row["cohort_id"],
                channel=row["channel"], kind=row["kind"], source_event_id=row["source_event_id"],
                sent_at=datetime.now(UTC)))

    async def _failed(self, row: Any, reason: str, *, permanent: bool) -> None:
        async with self.rt.pool.acquire() as conn, conn.transaction():
            await deliveries.mark_failed(conn, row["id"], reason)
            await self.rt.outbox.add(conn, NotificationFailedV1(
                notification_id=str(row["id"]), recipient_id=row["recipient_id"], cohort_id=row["cohort_id"],
                channel=row["channel"], kind=row["kind"], source_event_id=row["source_event_id"],
                reason=reason, permanent=permanent, failed_at=datetime.now(UTC)))


async def run_dispatcher(rt: Runtime) -> None:
    await Dispatcher(rt).run()
