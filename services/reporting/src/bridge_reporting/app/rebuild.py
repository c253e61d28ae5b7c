"""Rebuilds every read model from the start of the topics, then swaps the result in atomically.

1. Creates a shadow set of tables in the `reporting` schema (`rm_*__r<generation>`), shaped like
   the live ones (`LIKE ... INCLUDING ALL`).
2. Reads every event topic from offset 0 up to the high watermarks taken at start, with a plain
   consumer (no group), and applies the events with the same set-based projection code as the
   live consumer, `batch_size` events per transaction. Sealed (v2) fields are opened with the
   people's keys from the key vault, fetched once per fetched batch for the people not seen yet;
   an erased person's fields open as the erased placeholders. With `workers` > 1, worker processes
   do the reading, decoding and folding, each for a share of the partitions, and this process writes
   what they fold (see "a rebuild in several processes" below).
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

import asyncio
import logging
import multiprocessing
import queue as queues
import time
import traceback
from collections.abc import AsyncIterator, Callable, Sequence
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
from bridge_reporting.app.projections import TOPICS, apply_events, write_folded
from bridge_reporting.db import shadow
from bridge_reporting.domain.projection import HANDLED_TYPES, fold
from bridge_reporting.settings import ReportingSettings
from bridge_shared.contracts.privacy import ErasureRequestedV1
from bridge_shared.db.connection import as_connection
from bridge_shared.events.envelope import (
    CloudEventAttributes,
    EnvelopeError,
    InboundEvent,
    KeySource,
    PreparedPayload,
    finish_payload,
    parse_attributes,
    prepare_payload,
)
from bridge_shared.events.topics import MATCHING_PRIVACY
from bridge_shared.gc_tuning import tune_gc
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
    workers: int = 0  # worker processes that read and decoded (0: this process did)

    @property
    def events_per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


ERASURE_TYPE = ErasureRequestedV1.event_type


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

    async def start(self, only: Sequence[TopicPartition] | None = None) -> None:
        """Assigns every partition of the topics (or `only` these) and seeks to their beginning."""
        await self.consumer.start()
        if only is not None:
            self.partitions = list(only)
        else:
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

    async def beginning_offsets(self) -> dict[TopicPartition, int]:
        if not self.partitions:
            return {}
        firsts: dict[TopicPartition, int] = await self.consumer.beginning_offsets(self.partitions)
        return firsts

    async def positions(self) -> dict[TopicPartition, int]:
        return {tp: await self.consumer.position(tp) for tp in self.partitions}

    def rewind(self, positions: dict[TopicPartition, int]) -> None:
        for tp, pos in positions.items():
            self.consumer.seek(tp, pos)

    def _accept(self, rec: ConsumerRecord[bytes, bytes]) -> CloudEventAttributes | None:
        """The record's attributes when it is an event to decode (counted either way)."""
        self.result.records += 1
        try:
            attrs = parse_attributes(rec.headers or ())
            if attrs.type not in HANDLED_TYPES and attrs.type != ERASURE_TYPE:
                self.result.skipped += 1
                return None
            if unexpected_source(rec.topic, attrs.source, self.topic_prefix) is not None:
                raise EnvelopeError("unexpected source")  # the live consumer dead-letters it too
        except EnvelopeError:
            self.result.invalid += 1  # the live consumer dead-letters these
            return None
        return attrs

    def _prepare(
        self, rec: ConsumerRecord[bytes, bytes]
    ) -> tuple[CloudEventAttributes, PreparedPayload] | None:
        """Decoding's first half (attributes, body, the people its sealed fields need); None for a
        record not to apply (counted)."""
        if (attrs := self._accept(rec)) is None:
            return None
        try:
            return attrs, prepare_payload(attrs, rec.value)
        except EnvelopeError:
            self.result.invalid += 1
            return None

    def _finish(
        self, rec: ConsumerRecord[bytes, bytes], attrs: CloudEventAttributes, prepared: PreparedPayload
    ) -> InboundEvent | None:
        try:
            payload = finish_payload(prepared, self.keys)
        except EnvelopeError:
            self.result.invalid += 1
            return None
        if isinstance(payload, ErasureRequestedV1):
            self.erased.update(payload.participant_ids)  # re-applied before the swap
            return None
        key = rec.key.decode("utf-8", "replace") if rec.key is not None else None
        return InboundEvent(attrs, payload, rec.topic, rec.partition, rec.offset, key)

    async def _decode_many(self, records: list[ConsumerRecord[bytes, bytes]]) -> list[InboundEvent]:
        """Decodes records, opening sealed fields, in two passes as the live consumer decodes a batch:
        the keys of people not seen yet in this rebuild are fetched from the key vault once for the
        whole list, between them (an erased or unknown person's key reads as None: their fields
        open as the erased placeholders)."""
        heads: list[tuple[ConsumerRecord[bytes, bytes], CloudEventAttributes, PreparedPayload]] = []
        need: set[str] = set()
        keys = self.keys
        for rec in records:
            if (head := self._prepare(rec)) is None:
                continue
            heads.append((rec, *head))
            need.update(s for s in head[1].subjects if s not in keys)
        if need:
            fetched = await self.keys_for(need)
            keys.update({s: fetched.get(s) for s in need})
        return [ev for rec, attrs, prepared in heads if (ev := self._finish(rec, attrs, prepared))]

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


# -- a rebuild in several processes --------------------------------------------------------------
#
# Decoding is what bounds a rebuild (bench/reporting: the reader alone runs at well under twice the
# rebuild's rate), and it is CPU work the GIL keeps on one core. With `workers` > 1, worker processes
# each read a share of the partitions up to the watermarks, decode and fold them, and hand the folded
# rows to this process, which writes them into the shadow set in its own transactions: one writer, so
# the workers never contend for the same rows (a pair's rows come from several topics). The
# projections are idempotent and order-independent, so the interleaving does not matter.


@dataclass
class _WorkerDone:
    records: int
    skipped: int
    invalid: int
    erased: set[str]


def plan_shares(sizes: dict[TopicPartition, int], workers: int) -> list[list[TopicPartition]]:
    """Partitions with records, split into at most `workers` shares of about equal record counts
    (largest first, each to the share with the fewest records so far)."""
    shares: list[list[TopicPartition]] = [[] for _ in range(max(1, workers))]
    loads = [0] * len(shares)
    for tp in sorted((tp for tp, n in sizes.items() if n > 0), key=lambda tp: (-sizes[tp], tp)):
        k = loads.index(min(loads))
        shares[k].append(tp)
        loads[k] += sizes[tp]
    return [share for share in shares if share]


def _vault_keys(pool: asyncpg.Pool) -> KeySource:
    async def keys_for(subjects: set[str]) -> Keys:
        async with pool.acquire() as kc:
            return await VAULT.keys_for_opening(as_connection(kc), subjects)

    return keys_for


async def _read_share(
    settings: ReportingSettings,
    until: dict[TopicPartition, int],
    batch_size: int,
    hand_over: Callable[[tuple[Any, ...]], None],
) -> _WorkerDone:
    """A worker's part: read and fold its partitions up to `until`, handing over each folded batch."""
    result = RebuildResult(generation="worker")
    keys_pool = await shadow.key_pool(settings)
    reader = _Reader(
        settings.kafka_bootstrap_servers,
        [],
        result,
        _vault_keys(keys_pool),
        security=settings,
        topic_prefix=settings.kafka_topic_prefix,
    )
    try:
        await reader.start(only=list(until))
        async for events in reader.batches(until, batch_size):
            # In a thread: while the writer is behind (the queue is full), fetching goes on.
            await asyncio.to_thread(hand_over, ("rows", fold(events), len(events)))
    finally:
        await reader.stop()
        await keys_pool.close()
    return _WorkerDone(result.records, result.skipped, result.invalid, reader.erased)


def _worker_main(
    settings: ReportingSettings,
    until: dict[TopicPartition, int],
    batch_size: int,
    out: Any,  # Any: a multiprocessing queue (its type is not public)
    k: int,
) -> None:
    """A worker process's entry point; whatever happens, the parent hears of it on `out`."""
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s %(levelname)s rebuild worker {k}: %(message)s"
    )
    tune_gc(settings.gc_young_threshold)
    try:
        done = asyncio.run(_read_share(settings, until, batch_size, out.put))
    except BaseException as exc:  # reported to the parent, which fails the rebuild
        out.put(("error", k, "".join(traceback.format_exception(exc))))
        return
    out.put(("done", k, done))


async def _next_message(
    inbox: Any, procs: Sequence[multiprocessing.process.BaseProcess], waiting: set[int]
) -> tuple[Any, ...]:
    """The next worker message; raises when a worker still owing its result has died without one."""
    while True:
        try:
            msg: tuple[Any, ...] = await asyncio.to_thread(inbox.get, True, 0.5)
            return msg
        except queues.Empty:
            dead = [k for k in waiting if procs[k].exitcode is not None]
            if dead:
                try:  # a worker's last message is in the pipe before it exits
                    late: tuple[Any, ...] = inbox.get_nowait()
                    return late
                except queues.Empty:
                    pass
                k = dead[0]
                code = procs[k].exitcode
                raise RuntimeError(f"rebuild worker {k} exited ({code}) before finishing") from None


async def _replay_in_workers(
    conn: asyncpg.Connection[Any],
    settings: ReportingSettings,
    suffix: str,
    plan: list[dict[TopicPartition, int]],
    batch_size: int,
    result: RebuildResult,
    erased: set[str],
    progress: Callable[[RebuildResult], None] | None,
) -> None:
    """Runs one worker process per share of `plan` and writes what they fold into the shadow set."""
    ctx = multiprocessing.get_context("spawn")  # no fork: this process holds sockets and an event loop
    inbox = ctx.Queue(maxsize=2 * len(plan))  # bounded: a worker waits while the writer is behind
    procs = [
        ctx.Process(
            target=_worker_main,
            args=(settings, until, batch_size, inbox, k),
            name=f"bridge-reporting-rebuild-{k}",
            daemon=True,
        )
        for k, until in enumerate(plan)
    ]
    for proc in procs:
        proc.start()
    waiting = set(range(len(procs)))
    try:
        while waiting:
            msg = await _next_message(inbox, procs, waiting)
            if msg[0] == "rows":
                _, batch, n = msg
                async with conn.transaction():
                    await write_folded(conn, batch, suffix)
                result.events += n
                if progress is not None:
                    progress(result)
            elif msg[0] == "done":
                _, k, done = msg
                waiting.discard(k)
                result.records += done.records
                result.skipped += done.skipped
                result.invalid += done.invalid
                erased |= done.erased
            else:
                _, k, error = msg
                raise RuntimeError(f"rebuild worker {k} failed:\n{error}")
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join(timeout=30)
        inbox.close()
        inbox.cancel_join_thread()


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
    workers: int = 1,
) -> RebuildResult:
    """Rebuilds every read model (the module's docstring says how). `workers` > 1 reads and decodes
    in that many processes, each a share of the partitions, while this one writes."""
    tune_gc(settings.gc_young_threshold)  # as a running service has it (bridge_shared.gc_tuning)
    suffix = f"__r{time.time_ns() // 1_000_000}"
    result = RebuildResult(generation=suffix)
    t0 = time.perf_counter()
    conn = await shadow.connect(settings)
    keys_pool = await shadow.key_pool(settings)

    reader = _Reader(
        settings.kafka_bootstrap_servers,
        [settings.kafka_topic_prefix + t for t in (*TOPICS, MATCHING_PRIVACY)],
        result,
        _vault_keys(keys_pool),
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
            begin = await reader.beginning_offsets()
            shares = plan_shares({tp: first[tp] - begin.get(tp, 0) for tp in first}, workers)
            if len(shares) > 1:
                # This reader reads on from the watermarks, in the catch-up under the lock.
                reader.rewind(first)
                plan = [{tp: first[tp] for tp in share} for share in shares]
                result.workers = len(plan)
                await _replay_in_workers(
                    conn, settings, suffix, plan, batch_size, result, reader.erased, progress
                )
            else:
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
