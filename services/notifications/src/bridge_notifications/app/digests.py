"""Digests, run by the periodic jobs (`jobs/digests.py`) on one instance per tick, in the job's
transaction, idempotent by dedup key.

- daily digest: the email/chat notifications held for people who chose a daily digest are due at
  `digest_local_hour` in their own zone; one digest message per recipient and channel replaces them
  (they are marked `digested`, pointing at the digest delivery). Someone who left the company gets
  no digest: their held items are cancelled (planning holds none for them once they are known to
  have left; this covers items held before).
- weekly HR digest: once per week per cohort with an HR contact, at `weekly_digest_weekday` /
  `weekly_digest_local_hour` in HR's zone, a summary of the cohort's notifications of the past week.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from bridge_notifications.app.recipients import effective_prefs, hr_contact
from bridge_notifications.db import deliveries, directory, health
from bridge_notifications.db.deliveries import DeliveryRow
from bridge_notifications.domain import digests
from bridge_notifications.domain.rendering import render
from bridge_notifications.domain.timing import zone
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.db.connection import Conn


async def daily_digest(conn: Conn, now: datetime, settings: NotificationsSettings) -> int:
    """Replaces the due held items by one digest per recipient and channel; returns how many."""
    groups: dict[tuple[str, str], list[DeliveryRow]] = defaultdict(list)
    for r in await deliveries.lock_due_digest_items(conn, now):
        groups[(r.recipient_id, r.channel)].append(r)
    made = 0
    for (recipient_id, channel), items in groups.items():
        who = await directory.person(conn, recipient_id)
        if who is None:
            continue
        if who.left:  # left the company (issue 19): their held items are dropped, not digested
            await deliveries.cancel_to(
                conn, [recipient_id], now=now, reason="left the company (daily digest)"
            )
            continue
        prefs = await effective_prefs(conn, who, settings)
        local_day = now.astimezone(zone(prefs.timezone)).date().isoformat()
        ctx = digests.daily_context(settings, who, [i.subject for i in items])
        content = render("daily_digest", prefs.locale, prefs.timezone, ctx)
        first = items[0]
        email = channel == "email"
        digest_id = await deliveries.create(
            conn,
            now=now,
            source_event_id=f"digest:{local_day}",
            recipient_id=recipient_id,
            cohort_id=first.cohort_id,
            channel=channel,
            kind="daily_digest",
            to_address=first.to_address,
            subject=content.subject,
            body_text=content.text if email else content.body_text,
            body_html=content.html if email else None,
            locale=prefs.locale,
            employee_id=who.employee_id,
            chat_format=first.chat_format,
            key=f"daily_digest:{recipient_id}:{local_day}:{channel}:{first.id}",
        )
        if digest_id is None:
            continue
        await deliveries.mark_digested(conn, [i.id for i in items], digest_id, now)
        made += 1
    return made


async def weekly_hr_digest(conn: Conn, now: datetime, settings: NotificationsSettings) -> int:
    """One summary per cohort with an HR contact for the week that ended; returns how many."""
    made = 0
    for c in await directory.cohorts_with_hr_contact(conn):
        hr, _defaults = await hr_contact(conn, c.cohort_id, settings)
        if hr is None:
            continue
        week = digests.last_week(now, hr, settings)
        key = f"weekly_digest:{c.cohort_id}:{week.label}:email"
        if await deliveries.exists(conn, key):
            continue
        figures = await deliveries.week_figures(conn, c.cohort_id, week.start, week.end)
        programme = await health.week(conn, c.cohort_id, week.start, week.end)
        ctx = digests.weekly_context(settings, c.cohort_id, hr, week, figures, programme)
        content = render("weekly_digest", hr.locale, hr.timezone, ctx)
        if await deliveries.create(
            conn,
            now=now,
            source_event_id=f"weekly:{week.label}",
            recipient_id=hr.recipient_id,
            cohort_id=c.cohort_id,
            channel="email",
            kind="weekly_digest",
            to_address=hr.email,
            subject=content.subject,
            body_text=content.text,
            body_html=content.html,
            locale=hr.locale,
            key=key,
        ):
            made += 1
    return made
