"""Periodic jobs, each run on one instance per tick (advisory lock) and idempotent by dedup key.

- daily digest: the email/chat notifications held for people who chose a daily digest are due at
  `digest_local_hour` in their own zone; one digest message per recipient and channel replaces them
  (they are marked `digested`, pointing at the digest delivery).
- weekly HR digest: once per week per cohort with an HR contact, at `weekly_digest_weekday` /
  `weekly_digest_local_hour` in HR's zone, a summary of the cohort's notifications of the past week.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bridge_notifications.db import deliveries, directory
from bridge_notifications.domain.rendering import render
from bridge_notifications.domain.timing import week_start, zone
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import Clock
from bridge_shared.scheduling.singleton import run_periodically

log = logging.getLogger(__name__)
Conn: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"


async def daily_digest(conn: Conn, now: datetime, settings: NotificationsSettings) -> int:
    rows = await conn.fetch(
        """SELECT * FROM deliveries WHERE status = 'digest' AND due_at <= $1
           ORDER BY recipient_id, channel, created_at FOR UPDATE SKIP LOCKED""",
        now,
    )
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for r in rows:
        groups[(r["recipient_id"], r["channel"])].append(r)
    made = 0
    for (recipient_id, channel), items in groups.items():
        who = await directory.person(conn, recipient_id)
        if who is None:
            continue
        prefs = await directory.effective_prefs(conn, who, settings)
        local_day = now.astimezone(zone(prefs.timezone)).date().isoformat()
        ctx = {
            "recipient_name": who.display_name,
            "items": [{"subject": i["subject"]} for i in items],
            "inbox_url": f"{settings.app_base_url.rstrip('/')}/inbox",
            "preferences_url": f"{settings.preferences_base_url.rstrip('/')}/{recipient_id}",
        }
        content = render("daily_digest", prefs.locale, prefs.timezone, ctx)
        first = items[0]
        digest_id = await deliveries.create(
            conn,
            now=now,
            source_event_id=f"digest:{local_day}",
            recipient_id=recipient_id,
            cohort_id=first["cohort_id"],
            channel=channel,
            kind="daily_digest",
            to_address=first["to_address"],
            subject=content.subject,
            body_text=content.text if channel == "email" else content.body_text,
            body_html=content.html if channel == "email" else None,
            locale=prefs.locale,
            employee_id=who.employee_id,
            chat_format=first["chat_format"],
            key=f"daily_digest:{recipient_id}:{local_day}:{channel}:{first['id']}",
        )
        if digest_id is None:
            continue
        await conn.execute(
            "UPDATE deliveries SET status = 'digested', digest_id = $2, updated_at = $3 "
            "WHERE id = ANY($1::uuid[])",
            [i["id"] for i in items],
            digest_id,
            now,
        )
        made += 1
    return made


async def weekly_hr_digest(conn: Conn, now: datetime, settings: NotificationsSettings) -> int:
    cohorts = await conn.fetch("SELECT * FROM cohorts WHERE hr_contact_email IS NOT NULL")
    made = 0
    for c in cohorts:
        hr, _defaults = await directory.hr_person(conn, c["cohort_id"], settings)
        if hr is None:
            continue
        period_end = week_start(
            now, zone(hr.timezone), settings.weekly_digest_weekday, time(settings.weekly_digest_local_hour)
        )
        period_start = period_end - timedelta(days=7)
        iso = period_end.astimezone(zone(hr.timezone)).isocalendar()
        key = f"weekly_digest:{c['cohort_id']}:{iso.year}-W{iso.week:02d}:email"
        if await conn.fetchval("SELECT 1 FROM deliveries WHERE dedup_key = $1", key):
            continue
        stats = await conn.fetchrow(
            """SELECT count(*) FILTER (WHERE status IN ('sent', 'digested')) AS sent,
                      count(*) FILTER (WHERE status = 'failed') AS failed
               FROM deliveries WHERE cohort_id = $1 AND kind <> 'weekly_digest'
                 AND created_at >= $2 AND created_at < $3""",
            c["cohort_id"],
            period_start,
            period_end,
        )
        assert stats is not None
        waiting = await conn.fetchval(
            "SELECT count(*) FROM deliveries WHERE cohort_id = $1 "
            "AND status IN ('pending', 'sending', 'digest')",
            c["cohort_id"],
        )
        esc_open = await conn.fetchval(
            "SELECT count(DISTINCT group_key) FROM deliveries WHERE cohort_id = $1 "
            "AND kind = 'at_risk_escalation' "
            "AND status = 'pending'",
            c["cohort_id"],
        )
        esc_sent = await conn.fetchval(
            "SELECT count(*) FROM deliveries WHERE cohort_id = $1 AND kind = 'at_risk_escalation' "
            "AND status = 'sent' "
            "AND sent_at >= $2 AND sent_at < $3",
            c["cohort_id"],
            period_start,
            period_end,
        )
        failed_to = [
            r["to_address"]
            for r in await conn.fetch(
                "SELECT DISTINCT to_address FROM deliveries WHERE cohort_id = $1 AND status = 'failed' "
                "AND channel = 'email' "
                "AND created_at >= $2 AND created_at < $3 ORDER BY 1 LIMIT 20",
                c["cohort_id"],
                period_start,
                period_end,
            )
        ]
        app = settings.app_base_url.rstrip("/")
        ctx = {
            "cohort_name": hr.display_name,
            "period_start": period_start,
            "period_end": period_end,
            "sent": stats["sent"],
            "failed": stats["failed"],
            "waiting": waiting,
            "escalations_open": esc_open,
            "escalations_sent": esc_sent,
            "failed_recipients": failed_to,
            "log_url": f"{app}/hr/deliveries?cohort_id={c['cohort_id']}",
            "preferences_url": f"{app}/hr/cohorts/{c['cohort_id']}/notification-defaults",
        }
        content = render("weekly_digest", hr.locale, hr.timezone, ctx)
        if await deliveries.create(
            conn,
            now=now,
            source_event_id=f"weekly:{iso.year}-W{iso.week:02d}",
            recipient_id=hr.recipient_id,
            cohort_id=c["cohort_id"],
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


async def run_jobs(rt: Runtime) -> None:
    settings: NotificationsSettings = rt.settings  # type: ignore[assignment, unused-ignore]
    clock = rt.clock

    async def daily(conn: Conn, clock: Clock) -> int:
        return await daily_digest(conn, clock.now(), settings)

    async def weekly(conn: Conn, clock: Clock) -> int:
        return await weekly_hr_digest(conn, clock.now(), settings)

    every = settings.jobs_poll_seconds
    await asyncio.gather(
        run_periodically(
            rt.pool, f"{settings.service_name}.daily_digest", daily, interval_seconds=every, clock=clock
        ),
        run_periodically(
            rt.pool, f"{settings.service_name}.weekly_hr_digest", weekly, interval_seconds=every, clock=clock
        ),
    )
