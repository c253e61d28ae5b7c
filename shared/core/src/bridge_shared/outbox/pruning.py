"""Deletes old outbox and inbox rows on a timer, whatever the load.

- Outbox: rows published (or discarded by an operator) more than `outbox_retention_hours` ago.
  Pending and parked rows are never deleted.
- Inbox: rows processed more than `inbox_retention_days` ago (0 keeps them forever). The inbox is
  the consumers' memory of what they already applied; an event redelivered after its inbox row is
  gone takes effect twice. Keep it longer than any redelivery window: the topics' retention (a
  consumer group reset re-reads that far back) and how long a dead letter may wait for a re-drive.

One instance per tick does the work (`scheduling.singleton.periodic_worker`). Each tick deletes in bounded
chunks; when it hits its cap the next tick starts at once, so a large backlog drains steadily
without one huge transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import asyncpg

from bridge_shared.scheduling.clock import Clock
from bridge_shared.scheduling.singleton import periodic_worker

log = logging.getLogger(__name__)

CHUNK = 5_000
MAX_CHUNKS_PER_TICK = 20


@dataclass(frozen=True)
class PruneResult:
    outbox: int
    inbox: int
    more: bool  # a cap was hit: more old rows are left for the next tick


async def _delete_chunks(conn: asyncpg.Connection[Any], sql: str, arg: int) -> tuple[int, bool]:
    total = 0
    for _ in range(MAX_CHUNKS_PER_TICK):
        deleted = int((await conn.execute(sql, arg, CHUNK)).split()[-1])
        total += deleted
        if deleted < CHUNK:
            return total, False
    return total, True


async def prune_once(
    conn: asyncpg.Connection[Any], *, outbox_retention_hours: int, inbox_retention_days: int
) -> PruneResult:
    """Deletes one tick's worth of expired rows (the database's clock decides what is old)."""
    published, more_published = await _delete_chunks(
        conn,
        """DELETE FROM outbox WHERE id IN (
               SELECT id FROM outbox WHERE published_at < now() - make_interval(hours => $1) LIMIT $2)""",
        outbox_retention_hours,
    )
    discarded, more_discarded = await _delete_chunks(
        conn,
        """DELETE FROM outbox WHERE id IN (
               SELECT id FROM outbox WHERE discarded_at < now() - make_interval(hours => $1) LIMIT $2)""",
        outbox_retention_hours,
    )
    inbox, more_inbox = 0, False
    if inbox_retention_days > 0:
        inbox, more_inbox = await _delete_chunks(
            conn,
            """DELETE FROM inbox WHERE (consumer, event_id) IN (
                   SELECT consumer, event_id FROM inbox
                    WHERE processed_at < now() - make_interval(days => $1) LIMIT $2)""",
            inbox_retention_days,
        )
    return PruneResult(published + discarded, inbox, more_published or more_discarded or more_inbox)


async def run_pruner(
    pool: asyncpg.Pool,
    schema: str,
    *,
    interval_seconds: float,
    outbox_retention_hours: int,
    inbox_retention_days: int,
) -> None:
    """Prunes every `interval_seconds` until cancelled; one instance of the service per tick."""

    async def job(conn: asyncpg.Connection[Any], _clock: Clock) -> PruneResult:
        return await prune_once(
            conn, outbox_retention_hours=outbox_retention_hours, inbox_retention_days=inbox_retention_days
        )

    def pruned(result: PruneResult) -> bool:
        if result.outbox or result.inbox:
            log.info("pruned %d outbox and %d inbox rows from %s", result.outbox, result.inbox, schema)
        return result.more

    await periodic_worker(
        pool, f"outbox-prune:{schema}", job, interval_seconds=interval_seconds, more=pruned
    ).run()
