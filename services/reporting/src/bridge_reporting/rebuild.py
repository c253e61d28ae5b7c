"""Rebuilds every read model from the start of the topics, then swaps the result in atomically.

    python -m bridge_reporting.rebuild          (or the `bridge-reporting-rebuild` script)

1. Creates a shadow set of tables in the `reporting` schema (`rm_*__r<generation>`), shaped like
   the live ones (`LIKE ... INCLUDING ALL`).
2. Reads every event topic from offset 0 up to the high watermarks taken at start, with a plain
   consumer (no group), and applies the events with the same set-based projection code as the
   live consumer, `--batch-size` events per transaction.
3. In one transaction: locks the live tables (the live consumer's next batch waits), catches up
   the shadow tables to the high watermarks taken under the lock, then renames the live tables
   away, the shadow ones in, and drops the old ones. Readers see either the old or the new set.

The live consumer keeps running throughout. Anything it applied before the lock is at or below the
final watermarks, so the catch-up includes it; anything it applies after the swap lands in the new
tables. Every projection is idempotent and order-independent, so events applied twice are harmless.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from bridge_reporting.domain.tables import ALL_TABLES
from bridge_reporting.handlers.projections import HANDLED_TYPES, TOPICS, apply_events
from bridge_reporting.settings import ReportingSettings
from bridge_shared.db.migrations import migrate
from bridge_shared.events.envelope import EnvelopeError, InboundEvent, decode_payload, parse_attributes

log = logging.getLogger("bridge_reporting.rebuild")

MIGRATIONS = "bridge_reporting.db.migrations"
_LOCK = 0x7265_6275_696C_64  # advisory lock key: one rebuild at a time per database


@dataclass
class RebuildResult:
    generation: str
    records: int = 0
    events: int = 0
    skipped: int = 0
    invalid: int = 0
    caught_up: int = 0
    seconds: float = 0.0
    swap_seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


class _Reader:
    """Reads assigned partitions up to given offsets, decoding the events reporting handles."""

    def __init__(self, bootstrap: str, result: RebuildResult) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            group_id=None,
            auto_offset_reset="earliest",
            max_poll_records=10_000,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=16 * 1024 * 1024,
        )
        self.partitions: list[TopicPartition] = []
        self.result = result

    async def start(self) -> None:
        await self.consumer.start()
        # A group-less consumer's own metadata only covers topics it was assigned, so read the
        # partitions from a full metadata fetch (consumer.topics() does not keep what it fetched).
        cluster = await self.consumer._client.fetch_all_metadata()
        for topic in TOPICS:
            for p in sorted(cluster.partitions_for_topic(topic) or ()):
                self.partitions.append(TopicPartition(topic, p))
        if self.partitions:
            self.consumer.assign(self.partitions)
            await self.consumer.seek_to_beginning(*self.partitions)

    async def stop(self) -> None:
        await self.consumer.stop()

    async def end_offsets(self) -> dict[TopicPartition, int]:
        if not self.partitions:
            return {}
        ends: dict[TopicPartition, int] = await self.consumer.end_offsets(self.partitions)
        return ends

    def _decode(self, rec: Any) -> InboundEvent | None:
        self.result.records += 1
        try:
            attrs = parse_attributes(list(rec.headers or ()))
            if attrs.type not in HANDLED_TYPES:
                self.result.skipped += 1
                return None
            payload = decode_payload(attrs, rec.value)
        except EnvelopeError:
            self.result.invalid += 1  # the live consumer dead-letters these
            return None
        key = rec.key.decode("utf-8", "replace") if rec.key is not None else None
        return InboundEvent(attrs, payload, rec.topic, rec.partition, rec.offset, key)

    async def batches(self, until: dict[TopicPartition, int], batch_size: int) -> Any:
        """Yields lists of decoded events until every partition reached `until`."""
        pending = {tp for tp, end in until.items() if await self.consumer.position(tp) < end}
        buf: list[InboundEvent] = []
        while pending:
            got = await self.consumer.getmany(*pending, timeout_ms=500, max_records=batch_size)
            for tp, records in got.items():
                end = until[tp]
                for rec in records:
                    if rec.offset >= end:
                        break
                    if (ev := self._decode(rec)) is not None:
                        buf.append(ev)
                if await self.consumer.position(tp) >= end:
                    pending.discard(tp)
                    # Records past the watermark were fetched but not applied: rewind to it.
                    self.consumer.seek(tp, end)
            if len(buf) >= batch_size or (not pending and buf):
                yield buf
                buf = []
        if buf:
            yield buf


async def _shadow(conn: asyncpg.Connection[Any], suffix: str) -> None:
    for t in ALL_TABLES:
        await conn.execute(f"DROP TABLE IF EXISTS {t.name}{suffix}")
        await conn.execute(f"CREATE TABLE {t.name}{suffix} (LIKE {t.name} INCLUDING ALL)")


async def _swap(
    conn: asyncpg.Connection[Any],
    reader: _Reader,
    suffix: str,
    result: RebuildResult,
    batch_size: int,
    lock_timeout: str,
) -> None:
    async with conn.transaction():
        await conn.execute(f"SET LOCAL lock_timeout = '{lock_timeout}'")
        names = ", ".join(t.name for t in ALL_TABLES)
        await conn.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
        final = await reader.end_offsets()
        async for events in reader.batches(final, batch_size):
            result.caught_up += len(events)
            await apply_events(conn, events, suffix)
        for t in ALL_TABLES:
            await conn.execute(f"ALTER TABLE {t.name} RENAME TO {t.name}{suffix}_old")
            await conn.execute(f"ALTER TABLE {t.name}{suffix} RENAME TO {t.name}")
            await conn.execute(f"DROP TABLE {t.name}{suffix}_old")


async def rebuild(
    settings: ReportingSettings,
    *,
    batch_size: int = 5000,
    lock_timeout: str = "10s",
    progress: Callable[[RebuildResult], None] | None = None,
) -> RebuildResult:
    suffix = f"__r{time.time_ns() // 1_000_000}"
    result = RebuildResult(generation=suffix)
    t0 = time.perf_counter()
    conn: asyncpg.Connection[Any] = await asyncpg.connect(
        settings.database_url,
        server_settings={"search_path": settings.db_schema, "application_name": "bridge-reporting-rebuild"},
    )
    reader = _Reader(settings.kafka_bootstrap_servers, result)
    try:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _LOCK):
            raise RuntimeError("another rebuild is running against this schema")
        try:
            await migrate(conn, settings.db_schema, MIGRATIONS)
            await _shadow(conn, suffix)
            await reader.start()
            first = await reader.end_offsets()
            async for events in reader.batches(first, batch_size):
                async with conn.transaction():
                    await apply_events(conn, events, suffix)
                result.events += len(events)
                if progress is not None:
                    progress(result)
            t_swap = time.perf_counter()
            for attempt in range(5):
                mark = {tp: await reader.consumer.position(tp) for tp in reader.partitions}
                try:
                    await _swap(conn, reader, suffix, result, batch_size, lock_timeout)
                    break
                except (asyncpg.LockNotAvailableError, asyncpg.DeadlockDetectedError):
                    log.warning("swap attempt %d could not lock the live tables; retrying", attempt + 1)
                    result.caught_up = 0
                    for tp, pos in mark.items():  # the caught-up events were rolled back
                        reader.consumer.seek(tp, pos)
                    await asyncio.sleep(0.5 * (attempt + 1))
            else:
                raise RuntimeError("could not swap the rebuilt tables in (live tables stayed locked)")
            result.events += result.caught_up
            result.swap_seconds = time.perf_counter() - t_swap
            for t in ALL_TABLES:
                result.rows[t.name] = int(await conn.fetchval(f"SELECT count(*) FROM {t.name}"))
        except BaseException:
            for t in ALL_TABLES:
                await conn.execute(f"DROP TABLE IF EXISTS {t.name}{suffix}")
            raise
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK)
    finally:
        await reader.stop()
        await conn.close()
    result.seconds = time.perf_counter() - t0
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch-size", type=int, default=5000, help="events per transaction")
    parser.add_argument("--lock-timeout", default="10s", help="how long the swap waits for the live tables")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = ReportingSettings()

    def progress(r: RebuildResult) -> None:
        if r.events and r.events % 100_000 < args.batch_size:
            log.info("rebuild: %d events applied", r.events)

    result = asyncio.run(
        rebuild(settings, batch_size=args.batch_size, lock_timeout=args.lock_timeout, progress=progress)
    )
    print(
        f"rebuilt {len(result.rows)} read models from {result.records} records "
        f"({result.events} applied, {result.skipped} of other types, {result.invalid} invalid, "
        f"{result.caught_up} caught up under lock) in {result.seconds:.1f}s "
        f"({result.events_per_second:.0f} records/s; swap {result.swap_seconds * 1000:.0f} ms)"
    )
    for name, n in result.rows.items():
        print(f"  {name}: {n} rows")


if __name__ == "__main__":
    main()
