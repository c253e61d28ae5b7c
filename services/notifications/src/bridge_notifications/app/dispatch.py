"""Sends due deliveries. Woken by NOTIFY when rows are created, and polls for scheduled ones.

Each row is leased before sending (SKIP LOCKED), so two instances never send the same row; a lease
whose holder died expires and another instance takes the row over. The outcome is written with its
notification.sent / notification.failed event in one transaction, fenced by the attempt number so
only the current lease holder records it. "Now" is the injected clock's, passed to SQL.

Once a message has been handed over, its outcome is recorded even through a database outage: the
write is retried (while the lease lasts) instead of being dropped, because a dropped "sent" would
let the lease expire and the message go out a second time. Only a crash of this process between
the hand-over and the write can still send a message twice (its Message-ID, derived from the dedup
key, lets receivers drop the copy).

Quiet hours are checked again at send time (preferences may have changed since the row was
planned): a row that falls inside them is put back, unchanged in attempts, until they end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import timedelta
from typing import Any, cast

import asyncpg
import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_random_exponential

from bridge_notifications.channels.chat import ChatChannel
from bridge_notifications.channels.email import EmailChannel, build_message
from bridge_notifications.channels.errors import PermanentDeliveryError, TransientDeliveryError
from bridge_notifications.db import deliveries, directory
from bridge_notifications.domain.ratelimit import TokenBucket
from bridge_notifications.domain.timing import next_allowed, zone
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts.notifications import NotificationFailedV1, NotificationSentV1
from bridge_shared.outbox.writer import Outbox
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import Clock, SystemClock

log = logging.getLogger(__name__)


def backoff_seconds(attempt: int, *, base: float, cap: float) -> float:
    """Exponential backoff with jitter: uniformly in [d/2, d], d = min(cap, base * 2^(attempt-1))."""
    d = min(cap, base * 2 ** max(attempt - 1, 0))
    return random.uniform(d / 2, d)


class Dispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        outbox: Outbox,
        settings: NotificationsSettings,
        clock: Clock | None = None,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.pool = pool
        self.outbox = outbox
        self.settings = settings
        self.clock = clock or SystemClock()
        self.email = EmailChannel(settings)
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(timeout=settings.chat_timeout_seconds)
        self.chat = ChatChannel(
            self.http,
            allowed_hosts=settings.chat_webhook_allowed_hosts,
            require_https=settings.chat_webhook_require_https,
        )
        self.buckets = {
            "email": TokenBucket(settings.email_rate_per_second, settings.email_burst),
            "chat": TokenBucket(settings.chat_rate_per_second, settings.chat_burst),
        }
        self._wake = asyncio.Event()

    async def aclose(self) -> None:
        await self.email.aclose()
        if self._own_http:
            await self.http.aclose()

    async def run(self) -> None:
        listener: asyncpg.Connection[Any] | None = None
        try:
            while True:
                try:
                    if listener is None or listener.is_closed():
                        listener = await asyncpg.connect(self.settings.database_url)
                        await listener.add_listener("notifications_dispatch", lambda *_: self._wake.set())
                    self._wake.clear()
                    while await self.dispatch_once() == self.settings.dispatch_batch_size:
                        pass
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("dispatch loop error")
                    listener = None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.settings.dispatch_poll_seconds)
        finally:
            if listener is not None and not listener.is_closed():
                await listener.close()
            await self.aclose()

    async def dispatch_once(self) -> int:
        async with self.pool.acquire() as conn:
            rows = await deliveries.lease_due(
                conn,
                now=self.clock.now(),
                limit=self.settings.dispatch_batch_size,
                lease_seconds=self.settings.dispatch_lease_seconds,
            )
        if rows:
            await asyncio.gather(*(self._deliver(r) for r in rows))
        return len(rows)

    async def drain(self, *, max_rounds: int = 100) -> int:
        """Dispatches until nothing is due (tests and tools)."""
        total = 0
        for _ in range(max_rounds):
            n = await self.dispatch_once()
            total += n
            if n == 0:
                break
        return total

    async def _quiet_until(self, row: Any) -> Any:
        if row["employee_id"] is None or row["held_reason"] == "daily_digest":
            return None
        async with self.pool.acquire() as conn:
            who = await directory.person(conn, row["recipient_id"])
            if who is None:
                return None
            prefs = await directory.effective_prefs(conn, who, self.settings)
        now = self.clock.now()
        allowed = next_allowed(now, zone(prefs.timezone), prefs.quiet_start, prefs.quiet_end)
        return allowed if allowed > now else None

    async def _deliver(self, row: Any) -> None:
        attempt = row["attempts"]
        if attempt > self.settings.dispatch_max_attempts:  # a lease that expired on its last attempt
            await self._failed(
                row, f"gave up after {attempt - 1} attempts: {row['last_error']}", permanent=False
            )
            return
        try:
            quiet_until = await self._quiet_until(row)
            if quiet_until is not None:
                async with self.pool.acquire() as conn:
                    await deliveries.reschedule(
                        conn,
                        row["id"],
                        attempt,
                        due_at=quiet_until,
                        now=self.clock.now(),
                        error=None,
                        held_reason="quiet_hours",
                        refund_attempt=True,
                    )
                return
            await self.buckets.get(row["channel"], _UNLIMITED).acquire()
            if row["channel"] == "email":
                await self.email.send(
                    build_message(
                        sender=self.settings.mail_from,
                        to=row["to_address"],
                        subject=row["subject"],
                        text=row["body_text"],
                        html=row["body_html"],
                        attachments=row["attachments"],
                        dedup_key=row["dedup_key"],
                    )
                )
            elif row["channel"] == "chat":
                await self.chat.send(
                    row["to_address"],
                    row["chat_format"],
                    row["subject"],
                    row["body_text"],
                    dedup_key=row["dedup_key"],
                )
            else:
                raise PermanentDeliveryError(f"channel {row['channel']} is not sent by the dispatcher")
        except TransientDeliveryError as exc:
            if attempt < self.settings.dispatch_max_attempts:
                now = self.clock.now()
                delay = backoff_seconds(
                    attempt, base=self.settings.retry_base_seconds, cap=self.settings.retry_cap_seconds
                )
                async with self.pool.acquire() as conn:
                    await deliveries.reschedule(
                        conn,
                        row["id"],
                        attempt,
                        due_at=now + timedelta(seconds=delay),
                        now=now,
                        error=str(exc),
                    )
                log.info("delivery %s attempt %d failed (%s); retry in %.1fs", row["id"], attempt, exc, delay)
                return
            await self._failed(row, f"gave up after {attempt} attempts: {exc}", permanent=False)
            return
        except PermanentDeliveryError as exc:
            await self._failed(row, str(exc), permanent=True)
            return
        now = self.clock.now()
        # Any error is retried here, not only the ones classed as infrastructure: a connection cut
        # mid-statement can also surface as asyncpg's InternalClientError ("cannot switch to state
        # ..."), and giving up means sending the message again once the lease runs out.
        async for retry in AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_random_exponential(multiplier=0.2, max=2.0),
            stop=stop_after_delay(self.settings.dispatch_lease_seconds),
            reraise=True,
        ):
            with retry:
                await self._record_sent(row, attempt, now)

    async def _record_sent(self, row: Any, attempt: int, now: Any) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            if not await deliveries.mark_sent(conn, row["id"], attempt, now):
                log.warning("delivery %s was sent but its lease had moved on", row["id"])
                return
            await self.outbox.add(
                cast("asyncpg.Connection[Any]", conn),
                NotificationSentV1(
                    notification_id=str(row["id"]),
                    recipient_id=row["recipient_id"],
                    cohort_id=row["cohort_id"],
                    channel=row["channel"],
                    kind=row["kind"],
                    source_event_id=row["source_event_id"],
                    sent_at=now,
                ),
                subject=f"notification/{row['id']}",
            )

    async def _failed(self, row: Any, reason: str, *, permanent: bool) -> None:
        now = self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            if not await deliveries.mark_failed(conn, row["id"], row["attempts"], reason, now):
                return
            await self.outbox.add(
                cast("asyncpg.Connection[Any]", conn),
                NotificationFailedV1(
                    notification_id=str(row["id"]),
                    recipient_id=row["recipient_id"],
                    cohort_id=row["cohort_id"],
                    channel=row["channel"],
                    kind=row["kind"],
                    source_event_id=row["source_event_id"],
                    reason=reason,
                    permanent=permanent,
                    failed_at=now,
                ),
                subject=f"notification/{row['id']}",
            )


_UNLIMITED = TokenBucket(0, 1)


async def run_dispatcher(rt: Runtime) -> None:
    settings: NotificationsSettings = rt.settings  # type: ignore[assignment, unused-ignore]
    dispatcher = Dispatcher(rt.pool, rt.outbox, settings, rt.clock)
    rt.extras["dispatcher"] = dispatcher
    await dispatcher.run()
