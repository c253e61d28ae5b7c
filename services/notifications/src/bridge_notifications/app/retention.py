"""Retention (docs/privacy.md), run by `jobs/retention.py` on one instance per tick, in the job's
transaction: one bounded batch per kind of data each run, the oldest first, so a backlog is worked
off over a few runs (the job repeats at once while a batch came back full). Idempotent.

- delivery log: e-mail/chat deliveries that are done (sent, failed, cancelled, digested), deleted
  `retention_delivery_log_days` (180) after they were last updated;
- inbox items that were read, deleted `retention_read_inbox_days` (365) after they were read;
- inbox items never read, deleted `retention_unread_inbox_days` (730) after they became visible;
- programme health facts (ids, counts, ratings: HR's weekly digest), deleted
  `retention_delivery_log_days` (180) after the fact.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bridge_notifications.app import health
from bridge_notifications.db import retention
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.db.connection import Conn

log = logging.getLogger(__name__)


async def apply_retention(conn: Conn, now: datetime, settings: NotificationsSettings) -> dict[str, int]:
    """Deletes one batch of each kind that is past its retention; returns the counts by kind."""
    limit = settings.retention_batch_size
    counts = {
        "deliveries": await retention.delete_finished_deliveries(
            conn, before=now - timedelta(days=settings.retention_delivery_log_days), limit=limit
        ),
        "read_inbox_items": await retention.delete_read_inbox_items(
            conn, before=now - timedelta(days=settings.retention_read_inbox_days), limit=limit
        ),
        "health_facts": await health.forget_before(
            conn, now - timedelta(days=settings.retention_delivery_log_days), limit
        ),
        "unread_inbox_items": await retention.delete_unread_inbox_items(
            conn, before=now - timedelta(days=settings.retention_unread_inbox_days), limit=limit
        ),
    }
    log.info("retention: deleted %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def batch_was_full(counts: dict[str, int], settings: NotificationsSettings) -> bool:
    return any(n >= settings.retention_batch_size for n in counts.values())
