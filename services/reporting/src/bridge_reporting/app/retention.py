"""Retention of per-person data in the read models (settings `retention_*_days`, README):

- **timeline** (`retention_timeline_days`, default 730): a pair's timeline entries older than this
  are deleted, and the texts of risk signals older than this cleared (the signals stay, so open
  risks and counts do not change);
- **closed programmes** (`retention_closed_programme_days`, default 365): that long after a
  cohort's programme end (or its closing), whatever still identifies its people goes: employee ids
  and names become the erased placeholders, its timeline is deleted and its risk texts cleared. The
  rows stay, so the programme's figures by cohort, region, department and band do not change.

Each pass is bounded (`retention_batch_size` rows per kind); the job repeats at once while a pass
was full. The rebuild applies the same rules to the tables it builds, so a replay does not bring back
what retention removed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bridge_reporting.db import retention as db
from bridge_reporting.settings import ReportingSettings
from bridge_shared.db.connection import Conn

log = logging.getLogger("bridge_reporting.retention")


async def apply_retention(
    conn: Conn, now: datetime, settings: ReportingSettings, suffix: str = ""
) -> dict[str, int]:
    """One bounded pass, in the caller's transaction; rows changed by kind."""
    limit = settings.retention_batch_size
    old = now - timedelta(days=settings.retention_timeline_days)
    closed = now - timedelta(days=settings.retention_closed_programme_days)
    return {
        "timeline_entries_deleted": await db.delete_timeline(conn, old, limit, suffix)
        + await db.delete_closed_timeline(conn, closed, limit, suffix),
        "risk_details_cleared": await db.clear_risk_details(conn, old, limit, suffix)
        + await db.clear_closed_risk_details(conn, closed, limit, suffix),
        "participants_anonymised": await db.anonymise_closed_participants(conn, closed, limit, suffix),
        "pairs_anonymised": await db.anonymise_closed_pairs(conn, closed, limit, suffix),
    }


def more_to_do(counts: dict[str, int], settings: ReportingSettings) -> bool:
    """A full pass: run again at once."""
    return any(n >= settings.retention_batch_size for n in counts.values())


async def run(conn: Conn, now: datetime, settings: ReportingSettings) -> dict[str, int]:
    """The scheduled job's tick: one pass, one INFO line."""
    counts = await apply_retention(conn, now, settings)
    log.info(
        "retention: %s (timeline %d days, closed programmes %d days)",
        ", ".join(f"{k}={v}" for k, v in counts.items()),
        settings.retention_timeline_days,
        settings.retention_closed_programme_days,
    )
    return counts


async def apply_all(conn: Conn, now: datetime, settings: ReportingSettings, suffix: str) -> dict[str, int]:
    """Passes until nothing is left (the rebuild, on its shadow set, in its transaction)."""
    total: dict[str, int] = {}
    while True:
        counts = await apply_retention(conn, now, settings, suffix)
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
        if not more_to_do(counts, settings):
            return total
