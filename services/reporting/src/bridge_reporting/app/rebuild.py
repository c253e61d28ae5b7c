"""Rebuilds every read model from the start of the topics, then swaps the result in atomically.

1. Creates a shadow set of tables in the `reporting` schema (`rm_*__r<generation>`), shaped like
   the live ones (`LIKE ... INCLUDING ALL`).
2. Reads every event topic from offset 0 up to the high watermarks taken at start, with a plain
   consumer (no group), and applies the events with the same set-based projection code as the
   live consumer, `batch_size` events per transaction. Sealed (v2) fields are opened with the
   people's keys from the key vault, fetched once per fetched batch for the people not seen yet;
   an erased person's fields open as the erased placeholders.
   Then the shadow tables are analysed (the planner's statistics; bulk-filled tables have none).
3. In one transaction: locks the live tables (the live consumer's next batch waits), catches up
   the shadow tables to the high watermarks taken under the lock, re-applies every erasure (the
   ledger, and erasure requests read on `bridge.matching.privacy`) and retention to them (v1
   history replays names in clear; a replay must not undo an erasure or retention), then renames the
   live tables away, the shadow ones in, and drops the old ones. Readers see either the old or the
   new set.

The live consumer keeps running throughout. Anything it applied before the lock is at or below the
final watermarks, so the catch-up includes it; anything it applies after the swap lands in the new
tables. Every projection is idempotent and order-independent, so events applied twice are harmless.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    RetryError,
    retry_if_exception_type,
    stop_after_attempt,
    wait_incrementing,
)

from bridge_reporting.app import privacy, retention
from bridge_reporting.app.projections import TOPICS, apply_events
from bridge_reporting.db import shadow
from bridge_reporting.domain.projection import HANDLED_TYPES
from bridge_reporting.settings import ReportingSettings
from bridge_shared.contracts.privacy import ErasureRequestedV1
from bridge_shared.db.connection import as_connection
from bridge_shared.events.envelope import (
    CloudEventAttributes,
    EnvelopeError,
    InboundEvent,
    KeySource,
    open_event_payload,
    parse_attributes,
)
from bridge_shared.events.topics import MATCHING_PRIVACY
from bridge_shared.messaging.broker import bootstrap_list
from bridge_shared.messaging.client_security import client_kwargs
from bridge_shared.messaging.security import KafkaSecuritySettings
from bridge_shared.messaging.sources import unexpected_source
from bridge_shared.privacy.sealing import Keys
from bridge_shared.privacy.vault import VAULT
from bridge_shared.scheduling.clock import Clock, SystemClock

log = logging.getLogger("bridge_reporting.rebuild")

SWAP_ATTEMPTS = 5


@dataclass
class RebuildResult:
    generation: str
    records: int = 0
    events: int = 0
    skipped: int = 0
    invalid: int = 0
    caught_up: int = 0
    erased: dict[str, int] = field(default_factory=dict)  # rows re-anonymised (ledger + topic)
    retention: dict[str, int] = field(default_factory=dict)  # rows retention removed again
    seconds: float = 0.0
    swap_seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


ERASURE_TYPE = ErasureRequestedV1.event_type


class _NeedKeys(Exception):
    """Raised while decoding when a person's key is not cached yet (the record is deferred)."""

    def __init__(self, subjects: set[str]) -> None:
        super().__init__(f"{len(subjects)} keys")
        self.subjects = subjects


class _Reader:
    """Reads assigned partitions up to given offsets, decoding the events reporting handles."""

    def __init__(
        self,
        bootstrap: str,
        topics: list[str],
        result: RebuildResult,
        keys_for: KeySource,
        security: KafkaSecuritySettings | None = None,
        topic_prefix: str = "",
    ) -> None:
        self.topic_prefix = topic_prefix
        self.keys_for = keys_for
        self.keys: dict[str, bytes | None] = {}  # people's keys, for the whole rebuild
        self.erased: set[str] = set()  # participant ids of erasure requests read on the topic
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_list(bootstrap),
            **client_kwargs(security),
            enable_auto_commit=False,
            group_id=None,
            auto_offset_reset="earliest",
            max_poll_records=10_000,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=16 * 1024 * 1024,
        )
        self.topics = topics
        self.partitions: list[TopicPartition] = []
        self.result = result

    async def start(self) -> None:
        await self.consumer.start()
        # A group-less consumer's own metadata only covers topics it was assigned, so read the
        # partitions from a full metadata fetch (consumer.topics() does not keep what it fetched).
        cluster = await self.consumer._client.fetch_all_metadata()
        for topic in self.topics:
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

    async def positions(self) -> dict[TopicPartition, int]:
        return {tp: await self.consumer.position(tp) for tp in self.partitions}

    def rewind(self, positions: dict[TopicPartition, int]) -> None:
        for tp, pos in positions.items():
            self.consumer.seek(tp, pos)

    def _accept(self, rec: ConsumerRecord[bytes, bytes]) -> CloudEventAttributes | None:
        """The record's attributes when it is an event to decode (counted either way)."""
        self.result.records += 1
        try:
            attrs = parse_attributes(list(rec.headers or ()))
            if attrs.type not in HANDLED_TYPES and attrs.type != ERASURE_TYPE:
                self.result.skipped += 1
                return None
            if unexpected_source(rec.topic, attrs.source, self.topic_prefix) is not None:
                raise EnvelopeError("unexpected source")  # the live consumer dead-letters it too
        except EnvelopeError:
            self.result.invalid += 1  # the live consumer dead-letters these
            return None
        return attrs

    async def _known_keys(self, subjects: set[str]) -> Keys:
        """Keys from the rebuild's own cache; a miss defers the record to the batch's one look-up."""
        missing = {s for s in subjects if s not in self.keys}  # not `- keys()`: that copies every key
        if missing:
            raise _NeedKeys(missing)
        return {s: self.keys[s] for s in subjects}

    async def _open(
        self, attrs: CloudEventAttributes, rec: ConsumerRecord[bytes, bytes]
    ) -> InboundEvent | None:
        try:
            payload = await open_event_payload(attrs, rec.value, self._known_keys)
        except EnvelopeError:
            self.result.invalid += 1
            return None
        if isinstance(payload, ErasureRequestedV1):
            self.erased.update(payload.participant_ids)  # re-applied before the swap
            return None
        key = rec.key.decode("utf-8", "replace") if rec.key is not None else None
        return InboundEvent(attrs, payload, rec.topic, rec.partition, rec.offset, key)

    async def _decode_many(self, records: list[ConsumerRecord[bytes, bytes]]) -> list[InboundEvent]:
        """Decodes records, opening sealed fields. Keys not cached yet are fetched from the key
        vault once for the whole list (records needing them are decoded after that look-up)."""
        out: list[InboundEvent | None] = []
        deferred: list[tuple[int, CloudEventAttributes, ConsumerRecord[bytes, bytes]]] = []
        need: set[str] = set()
        for rec in records:
            if (attrs := self._accept(rec)) is None:
                continue
            try:
                out.append(await self._open(attrs, rec))
            except _NeedKeys as miss:
                need |= miss.subjects
                deferred.append((len(out), attrs, rec))
                out.append(None)
        if need:
            self.keys.update(await self.keys_for(need))
            for i, attrs, rec in deferred:
                out[i] = await self._open(attrs, rec)
        return [ev for ev in out if ev is not None]

    async def batches(
        self, until: dict[TopicPartition, int], batch_size: int
    ) -> AsyncIterator[list[InboundEvent]]:
        """Yields lists of decoded events until every partition reached `until`."""
        pending = {tp for tp, end in until.items() if await self.consumer.position(tp) < end}
        buf: list[InboundEvent] = []
        while pending:
            got = await self.consumer.getmany(*pending, timeout_ms=500, max_records=batch_size)
            for tp, records in got.items():
                end = until[tp]
                buf.extend(await self._decode_many([rec for rec in records if rec.offset < end]))
                if await self.consumer.position(tp) >= end:
                    pending.discard(tp)
                    # Records past the watermark were fetched but not applied: rewind to it.
                    self.consumer.seek(tp, end)
            if len(buf) >= batch_size or (not pending and buf):
                yield buf
                buf = []
        if buf:
            yield buf


async def _swap(
    conn: asyncpg.Connection[Any],
    reader: _Reader,
    suffix: str,
    result: RebuildResult,
    batch_size: int,
    lock_timeout: str,
    settings: ReportingSettings,
    clock: Clock,
) -> None:
    """Under the live tables' lock: catch up to the final watermarks, then swap the sets."""
    mark = await reader.positions()
    try:
        async with conn.transaction():
            await shadow.lock_live(conn, lock_timeout)
            final = await reader.end_offsets()
            async for events in reader.batches(final, batch_size):
                result.caught_up += len(events)
                await apply_events(conn, events, suffix, guard=False)
            # What erasures and retention removed from the live tables stays removed: v1 history
            # replays names in clear, and retention's cut-offs are re-applied to the rebuilt set.
            result.erased = await privacy.reapply_all(conn, suffix, reader.erased)
            result.retention = await retention.apply_all(conn, clock.now(), settings, suffix)
            await shadow.swap_in(conn, suffix)
    except (asyncpg.LockNotAvailableError, asyncpg.DeadlockDetectedError):
        result.caught_up = 0  # the caught-up events were rolled back: read them again
        reader.rewind(mark)
        raise


def _log_retry(state: RetryCallState) -> None:
    log.warning("swap attempt %d could not lock the live tables; retrying", state.attempt_number)


async def rebuild(
    settings: ReportingSettings,
    *,
    batch_size: int = 5000,
    lock_timeout: str = "10s",
    progress: Callable[[RebuildResult], None] | None = None,
    clock: Clock | None = None,
) -> RebuildResult:
    suffix = f"__r{time.time_ns() // 1_000_000}"
    result = RebuildResult(generation=suffix)
    t0 = time.perf_counter()
    conn = await shadow.connect(settings)
    keys_pool = await shadow.key_pool(settings)

    async def keys_for(subjects: set[str]) -> Keys:
        async with keys_pool.acquire() as kc:
            return await VAULT.keys_for_opening(as_connection(kc), subjects)

    reader = _Reader(
        settings.kafka_bootstrap_servers,
        [settings.kafka_topic_prefix + t for t in (*TOPICS, MATCHING_PRIVACY)],
        result,
        keys_for,
        security=settings,
        topic_prefix=settings.kafka_topic_prefix,
    )
    try:
        if not await shadow.try_lock(conn, settings.db_schema):
            raise RuntimeError("another rebuild is running against this schema")
        try:
            await shadow.migrate_live(conn, settings.db_schema)
            await shadow.create(conn, suffix)
            await reader.start()
            first = await reader.end_offsets()
            async for events in reader.batches(first, batch_size):
                async with conn.transaction():
                    await apply_events(conn, events, suffix, guard=False)
                result.events += len(events)
                if progress is not None:
                    progress(result)
            await shadow.analyze(conn, suffix)  # before the swap: the lock is not held meanwhile
            t_swap = time.perf_counter()
            try:
                async for attempt in AsyncRetrying(
                    retry=retry_if_exception_type(
                        (asyncpg.LockNotAvailableError, asyncpg.DeadlockDetectedError)
                    ),
                    stop=stop_after_attempt(SWAP_ATTEMPTS),
                    wait=wait_incrementing(start=0.5, increment=0.5),
                    before_sleep=_log_retry,
                ):
                    with attempt:
                        await _swap(
                            conn,
                            reader,
                            suffix,
                            result,
                            batch_size,
                            lock_timeout,
                            settings,
                            clock or SystemClock(),
                        )
            except RetryError as exc:
                raise RuntimeError(
                    "could not swap the rebuilt tables in (live tables stayed locked)"
                ) from exc
            result.events += result.caught_up
            result.swap_seconds = time.perf_counter() - t_swap
            result.rows = await shadow.row_counts(conn)
        except BaseException:
            await shadow.drop(conn, suffix)
            raise
        finally:
            await shadow.unlock(conn, settings.db_schema)
    finally:
        await reader.stop()
        await conn.close()
        await keys_pool.close()
    result.seconds = time.perf_counter() - t0
    return result
