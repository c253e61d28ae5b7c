"""Sends due deliveries: one batch per call of `tick()` (the loop around it is `jobs/dispatcher.py`).

Each row is leased before sending (SKIP LOCKED), so two instances never send the same row; a lease
whose holder died expires and another instance takes the row over. The outcome is written with its
notification.sent / notification.failed event in one transaction, fenced by the attempt number so
only the current lease holder records it. "Now" is the injected clock's, passed to SQL.

Once a message has been handed over, its outcome is recorded even through a database outage: the
write is retried (while the lease lasts) instead of being dropped, because a dropped "sent" would
let the lease expire and the message go out a second time. Only a crash of this process between
the hand-over and the write can still send a message twice (its Message-ID, derived from the dedup
key, lets receivers drop the copy).

A participant who left the company since the row was planned (issue 19) gets nothing: the row is
cancelled at send time, with no notification event (nothing failed).

Quiet hours are checked again at send time (preferences may have changed since the row was
planned): a row that falls inside them is put back, unchanged in attempts, until they end.

A transient failure is retried after `Backoff(retry_base_seconds, retry_cap_seconds).delay(attempt)`:
a random time in [0, min(cap, base * 2^(attempt-1))] (tenacity's random exponential, "full jitter").
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_random_exponential

from bridge_notifications.adapters.chat import ChatChannel
from bridge_notifications.adapters.email import EmailChannel, build_message
from bridge_notifications.adapters.errors import PermanentDeliveryError, TransientDeliveryError
from bridge_notifications.adapters.ratelimit import TokenBucket
from bridge_notifications.app.recipients import effective_prefs
from bridge_notifications.db import deliveries, directory
from bridge_notifications.db.deliveries import DeliveryRow
from bridge_notifications.domain.privacy import scrub_reason
from bridge_notifications.domain.recipients import Person, Prefs
from bridge_notifications.domain.timing import next_allowed, zone
from bridge_notifications.domain.unsubscribe import make_token
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts.notifications import NotificationFailedV1, NotificationSentV1
from bridge_shared.db.connection import connection, transaction
from bridge_shared.outbox.writer import Outbox
from bridge_shared.privacy.erased import ERASED_TEXT, is_erased_email
from bridge_shared.scheduling.clock import Clock, SystemClock
from bridge_shared.scheduling.worker import Backoff

log = logging.getLogger(__name__)

_UNLIMITED = TokenBucket(0, 1)


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
        self.backoff = Backoff(initial=settings.retry_base_seconds, max=settings.retry_cap_seconds)
        self.email = EmailChannel(settings)
        self._unsubscribe_key = settings.unsubscribe_key()
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

    async def aclose(self) -> None:
        await self.email.aclose()
        if self._own_http:
            await self.http.aclose()

    async def dispatch_once(self) -> int:
        """Leases one batch of due rows and delivers them; returns how many were leased."""
        async with connection(self.pool) as conn:
            rows = await deliveries.lease_due(
                conn,
                now=self.clock.now(),
                limit=self.settings.dispatch_batch_size,
                lease_seconds=self.settings.dispatch_lease_seconds,
            )
        if rows:
            await asyncio.gather(*(self._deliver(r) for r in rows))
        return len(rows)

    async def tick(self) -> bool:
        """One batch; True when it was full (there may be more due at once)."""
        return await self.dispatch_once() == self.settings.dispatch_batch_size

    async def drain(self, *, max_rounds: int = 100) -> int:
        """Dispatches until nothing is due (tests and tools); returns how many rows were leased."""
        total = 0
        for _ in range(max_rounds):
            n = await self.dispatch_once()
            total += n
            if n == 0:
                break
        return total

    async def _recipient(self, row: DeliveryRow) -> tuple[Person, Prefs] | None:
        """A participant's directory entry and preferences as they are now (one lookup per send):
        quiet hours are checked against them, and e-mail goes to the address held now, so a message
        planned before the person's address changed (a reminder, a held digest, an invite) reaches
        the new one. None for HR contacts and unknown people."""
        if row.employee_id is None:
            return None
        async with connection(self.pool) as conn:
            who = await directory.person(conn, row.recipient_id)
            if who is None:
                return None
            return who, await effective_prefs(conn, who, self.settings)

    def _quiet_until(self, row: DeliveryRow, prefs: Prefs | None) -> datetime | None:
        if prefs is None or row.held_reason == "daily_digest":
            return None
        now = self.clock.now()
        allowed = next_allowed(now, zone(prefs.timezone), prefs.quiet_start, prefs.quiet_end)
        return allowed if allowed > now else None

    @staticmethod
    def _current_address(row: DeliveryRow, who: Person | None) -> str:
        if who is None or not who.email or is_erased_email(who.email):
            return row.to_address
        return who.email

    def _unsubscribe_url(self, row: DeliveryRow) -> str | None:
        """Participants' e-mails only (an HR contact's alerts are part of running the programme)."""
        if row.employee_id is None or self._unsubscribe_key is None:
            return None
        token = make_token(self._unsubscribe_key, row.recipient_id)
        return f"{self.settings.unsubscribe_base_url.rstrip('/')}/{token}"

    async def _send(self, row: DeliveryRow, who: Person | None) -> None:
        if is_erased_email(row.to_address) or row.to_address == ERASED_TEXT:
            raise PermanentDeliveryError("the recipient was erased")  # never sent (docs/privacy.md)
        await self.buckets.get(row.channel, _UNLIMITED).acquire()
        if row.channel == "email":
            await self.email.send(
                build_message(
                    sender=self.settings.mail_from,
                    to=self._current_address(row, who),
                    subject=row.subject,
                    text=row.body_text,
                    html=row.body_html,
                    attachments=row.attachments,
                    dedup_key=row.dedup_key,
                    date=self.clock.now(),
                    unsubscribe_url=self._unsubscribe_url(row),
                )
            )
        elif row.channel == "chat":
            await self.chat.send(
                row.to_address, row.chat_format, row.subject, row.body_text, dedup_key=row.dedup_key
            )
        else:
            raise PermanentDeliveryError(f"channel {row.channel} is not sent by the dispatcher")

    async def _deliver(self, row: DeliveryRow) -> None:
        attempt = row.attempts
        if attempt > self.settings.dispatch_max_attempts:  # a lease that expired on its last attempt
            await self._failed(
                row, f"gave up after {attempt - 1} attempts: {row.last_error}", permanent=False
            )
            return
        try:
            recipient = await self._recipient(row)
            if recipient is not None and recipient[0].left:
                await self._withhold(row, "not sent: the recipient left the company")
                return
            quiet_until = self._quiet_until(row, recipient[1] if recipient else None)
            if quiet_until is not None:
                await self._put_back(row, quiet_until, error=None, held_reason="quiet_hours")
                return
            await self._send(row, recipient[0] if recipient else None)
        except TransientDeliveryError as exc:
            if attempt < self.settings.dispatch_max_attempts:
                delay = self.backoff.delay(attempt)
                error = scrub_reason(str(exc), channel=row.channel, address=row.to_address)
                await self._put_back(row, self.clock.now() + timedelta(seconds=delay), error=error)
                log.info("delivery %s attempt %d failed (%s); retry in %.1fs", row.id, attempt, exc, delay)
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
                await self._record_sent(row, now)

    async def _put_back(
        self, row: DeliveryRow, due_at: datetime, *, error: str | None, held_reason: str | None = None
    ) -> None:
        """Back to pending until `due_at`: a retry (the attempt counts), or quiet hours (it does not)."""
        async with connection(self.pool) as conn:
            await deliveries.reschedule(
                conn,
                row.id,
                row.attempts,
                due_at=due_at,
                now=self.clock.now(),
                error=error,
                held_reason=held_reason,
                refund_attempt=held_reason == "quiet_hours",
            )

    async def _withhold(self, row: DeliveryRow, reason: str) -> None:
        async with connection(self.pool) as conn:
            if await deliveries.withhold(conn, row.id, row.attempts, reason, self.clock.now()):
                log.info("delivery %s to %s withheld: left the company", row.id, row.recipient_id)

    async def _record_sent(self, row: DeliveryRow, now: datetime) -> None:
        async with transaction(self.pool) as conn:
            if not await deliveries.mark_sent(conn, row.id, row.attempts, now):
                log.warning("delivery %s was sent but its lease had moved on", row.id)
                return
            sent = NotificationSentV1(**_about(row), sent_at=now)
            await self.outbox.add(conn, sent, subject=f"notification/{row.id}")

    async def _failed(self, row: DeliveryRow, reason: str, *, permanent: bool) -> None:
        # No e-mail address (an SMTP answer may quote the recipient's) and no webhook URL leaves here.
        reason = scrub_reason(reason, channel=row.channel, address=row.to_address)
        now = self.clock.now()
        async with transaction(self.pool) as conn:
            if not await deliveries.mark_failed(conn, row.id, row.attempts, reason, now):
                return
            failed = NotificationFailedV1(**_about(row), reason=reason, permanent=permanent, failed_at=now)
            await self.outbox.add(conn, failed, subject=f"notification/{row.id}")


# Any: keyword arguments for the two event payloads, which pydantic validates (channel's Literal).
def _about(row: DeliveryRow) -> dict[str, Any]:
    """What notification.sent and notification.failed say about the delivery."""
    return {
        "notification_id": str(row.id),
        "recipient_id": row.recipient_id,
        "cohort_id": row.cohort_id,
        "channel": row.channel,
        "kind": row.kind,
        "source_event_id": row.source_event_id,
    }
