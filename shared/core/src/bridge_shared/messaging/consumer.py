"""Event consumers: decode, dedupe through the inbox, retry with backoff, dead-letter, keep moving.

- A record that is not a valid event goes straight to the dead-letter topic.
- Source check (docs/security-kafka.md): an event on a Bridge service's topic whose CloudEvents
  `source` is not that service (`/bridge/matching` on `bridge.matching.*`) is dead-lettered at once
  as `UnexpectedSource`, whatever its type; no handler sees it and the partition moves on.
- Types (docs/events.md, "Unknown types and versions"): a record is handled when its type, or the
  type the registered upcasters turn it into, has a handler here. Otherwise:
  - another version of a Bridge event family this consumer handles (`...pair.formed.v2` when it
    handles v1), with no upcaster into a handled version, is dead-lettered at once
    (`UnknownEventVersion`; the reason names the versions it knows): it was meant for this consumer,
    which cannot read it; once the consumer handles that version, `bridge-dlq` replays it;
  - a type registered in bridge_shared.contracts of another family (another event on the same
    topic) is skipped: normal, not counted;
  - any other type (a Bridge type this process's contracts do not know, or a foreign one) is skipped.
  The first and last are counted in `bridge_events_unknown_total{service,consumer,type,action}` and
  logged once per consumer and type per process: nothing is dropped silently.
- Payloads are read tolerantly: fields the model does not declare are ignored (EventPayload.read).
- A handler error is retried with exponential backoff and jitter; after the last attempt the record
  is dead-lettered and the partition moves on.
- An infrastructure error (database unreachable) is not the record's fault: the record is not
  committed and is read again after a pause, rather than dead-lettered.
- The inbox row and the handler's effects share one transaction, so a redelivery has no effect.
- The batch path claims and handles many events in one transaction, with one offset commit; a type
  registered with `handle_many` gets each run of consecutive events of that type in one set-based
  call. If the batch fails it falls back to one event at a time, so one poison record cannot sink
  its neighbours.

Offsets and rebalances. The consumer commits offsets itself (FastStream's `AckPolicy.MANUAL`, no
auto-commit), with explicit per-partition offsets, and only up to the first record that has not had
its effect: a record counts as done once its transaction committed, it was dead-lettered, or it is
not a type this consumer handles. A rebalance listener makes a group change safe:

- `on_partitions_revoked` (awaited by aiokafka before it rejoins the group) waits for the in-flight
  record or batch to finish and for its offsets to be committed, so the next owner starts after them.
  The wait is bounded by `revoke_timeout` (setting `consumer_revoke_timeout_seconds`, well below
  the group's rebalance timeout, `max.poll.interval.ms`). If it runs out the work is abandoned: it is
  cancelled, so its transaction rolls back (the new owner reads the records again) or has already
  committed (its inbox rows make the redelivery a no-op); only records done by then are committed.
- Records handed over by the client but not yet started when a revocation begins, or whose partition
  is no longer assigned, are left alone: the partition's owner reads them from the committed offset.
- An offset commit that fails because the group moved on (`CommitFailedError`) is logged, not
  raised and not retried: the records are read again by their owner and the inbox absorbs them.
  Nothing is rewound in a loop; after an infrastructure error the partition is rewound once, after
  a pause, to its first record without an effect.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeAlias, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import AckStatus
from opentelemetry import trace
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_random,
    wait_random_exponential,
)

from bridge_shared.db.connection import as_connection
from bridge_shared.events.envelope import (
    CloudEventAttributes,
    EnvelopeError,
    InboundEvent,
    PreparedPayload,
    finish_payload,
    parse_attributes,
    prepare_payload,
)
from bridge_shared.events.registry import (
    EventPayload,
    is_bridge_type,
    spec_for,
    split_type,
    upcast_target,
)
from bridge_shared.inbox.store import claim, claim_many
from bridge_shared.messaging.dead_letter import DeadLetter, DeadLetterPublisher
from bridge_shared.messaging.sources import unexpected_source
from bridge_shared.observability.metrics import EVENTS_UNKNOWN
from bridge_shared.privacy.sealing import Keys
from bridge_shared.privacy.vault import VAULT

log = logging.getLogger(__name__)

Handler: TypeAlias = "Callable[[asyncpg.Connection[Any], InboundEvent], Awaitable[None]]"
BatchHandler: TypeAlias = "Callable[[asyncpg.Connection[Any], list[InboundEvent]], Awaitable[None]]"
Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
P = TypeVar("P", bound=EventPayload)

INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
)

# After an abandoned in-flight unit is cancelled, how long the revocation waits for its rollback.
ABANDON_GRACE_SECONDS = 5.0
# A batch consumer's poll (default): getmany waits this long for records, and FastStream sleeps as
# long again after an empty one. Under load it returns at once with what is buffered.
BATCH_POLL_MS = 10


def is_infrastructure_error(exc: BaseException) -> bool:
    """A dependency is down, so retrying the same record later can succeed.

    asyncpg's client-side DataError (a bad query argument: a handler bug) is an InterfaceError too,
    so only connection-state InterfaceErrors count; anything else must dead-letter, never loop.
    """
    if isinstance(exc, INFRASTRUCTURE_ERRORS):
        return True
    if isinstance(exc, asyncpg.InterfaceError) and not isinstance(exc, ValueError):
        text = str(exc).lower()
        return "connection" in text or "pool is closing" in text
    return False


class _Infrastructure(Exception):
    """Internal: wraps an infrastructure error so the retry policy can tell it apart."""


class PermanentEventError(Exception):
    """Raised by a handler when retrying cannot help (the event contradicts stored state)."""


class UnknownEventVersion(EnvelopeError):
    """A version of an event family this consumer handles that it does not know (and no upcaster
    turns into one it knows): dead-lettered at once with this reason."""


class UnexpectedSource(EnvelopeError):
    """An event whose CloudEvents source is not the service that owns its topic: a forgery or a
    misrouted event, dead-lettered at once with this reason and never handled."""


# (consumer group, type) pairs already logged as unknown by this process: logged once each.
_UNKNOWN_LOGGED: set[tuple[str, str]] = set()


class InfrastructureUnavailable(Exception):
    """The record was not processed because a dependency is down; it will be read again."""


async def _raw_body(msg: Any) -> Any:
    return msg.body


COMMIT_TIMEOUT_SECONDS = 30.0
"""How long an offset commit may take before the consumer gives up on it and goes on."""

BATCH_TRANSACTION_ATTEMPTS = 4
"""How often a batch's transaction runs when PostgreSQL rolls it back to break a deadlock or a
serialization conflict, before the batch is applied one event at a time."""

TRACE_LINKS_PER_BATCH = 128
"""The records of a batch whose headers FastStream reads for the batch span's links and baggage."""


async def _batch_parser(
    records: tuple[ConsumerRecord[Any, Any], ...],
    default: Callable[[tuple[ConsumerRecord[Any, Any], ...]], Awaitable[Any]],
) -> Any:  # Any: FastStream's StreamMessage
    """FastStream's batch parser, given only the batch's last TRACE_LINKS_PER_BATCH records, then the
    whole batch as the raw message (which the handler reads). FastStream turns every record it is
    given into a header dict, baggage and a trace link, about 5-10 us a record; OpenTelemetry keeps
    only a span's last 128 links (OTEL_SPAN_LINK_COUNT_LIMIT), so the batch span's links are the same."""
    if len(records) <= TRACE_LINKS_PER_BATCH:
        return await default(records)
    msg = await default(records[-TRACE_LINKS_PER_BATCH:])
    msg.raw_message = records
    first, last = records[0], records[-1]
    msg.message_id = f"{first.offset}-{last.offset}-{first.timestamp}"
    return msg


def _tp(rec: Record) -> TopicPartition:
    return _topic_partition(rec.topic, rec.partition)


@lru_cache(maxsize=4096)
def _topic_partition(topic: str, partition: int) -> TopicPartition:
    """One TopicPartition per partition (asked for several times per record)."""
    return TopicPartition(topic, partition)


class Progress:
    """Which records of one delivery are done: effect committed, dead-lettered, or not ours."""

    def __init__(self, records: Sequence[Record]) -> None:
        self._offsets: dict[TopicPartition, list[int]] = {}
        for rec in records:
            self._offsets.setdefault(_tp(rec), []).append(rec.offset)
        self._done: set[tuple[TopicPartition, int]] = set()
        self._all_done = False

    def done(self, rec: Record) -> None:
        self._done.add((_tp(rec), rec.offset))

    def all_done(self) -> None:
        """Every record of the delivery is done (a batch that took effect whole)."""
        self._all_done = True

    def _first_undone(self, tp: TopicPartition) -> int | None:
        if self._all_done:
            return None
        return next((o for o in self._offsets[tp] if (tp, o) not in self._done), None)

    def committable(self) -> dict[TopicPartition, int]:
        """Per partition, the offset to commit: the first record not done, or past the last one."""
        out: dict[TopicPartition, int] = {}
        for tp, offsets in self._offsets.items():
            first_undone = self._first_undone(tp)
            nxt = offsets[-1] + 1 if first_undone is None else first_undone
            if nxt > offsets[0]:
                out[tp] = nxt
        return out

    def unfinished(self) -> dict[TopicPartition, int]:
        """Per partition with records not done, the first of them (where to read again)."""
        out: dict[TopicPartition, int] = {}
        for tp in self._offsets:
            first_undone = self._first_undone(tp)
            if first_undone is not None:
                out[tp] = first_undone
        return out


@dataclass
class RebalanceStats:
    """What the consumer did around rebalances; for logs, metrics and tests."""

    revocations: int = 0
    waited_for_in_flight: int = 0
    abandoned: int = 0
    records_left_for_owner: int = 0
    commit_failures: int = 0


@dataclass(eq=False)
class _InFlight:
    task: asyncio.Task[None]
    progress: Progress
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    abandoned: bool = False
    # Set when a revocation stopped waiting for this unit: from then on it must not commit offsets.
    closed: bool = False


class _RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Hands aiokafka's callbacks (awaited before leaving / after joining the group) to the consumer."""

    def __init__(self, owner: EventConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._owner._on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._owner._on_partitions_assigned(assigned)


class EventConsumer:
    """One consumer group of one service: handlers per event type, an inbox name, a DLQ."""

    def __init__(
        self,
        *,
        service: str,
        name: str,
        topics: Sequence[str],
        pool: Callable[[], asyncpg.Pool],
        max_attempts: int = 5,
        backoff_initial: float = 0.2,
        backoff_max: float = 5.0,
        batch: bool = False,
        batch_max_records: int = 500,
        revoke_timeout: float = 20.0,
        fetch_max_wait_ms: int = 500,
        batch_poll_ms: int = BATCH_POLL_MS,
        on_dead_letter: Callable[[str], None] | None = None,
        topic_prefix: str = "",
    ) -> None:
        """`topics` are contract (unprefixed) names; `topic_prefix` is put before them and the DLQ."""
        self.service = service
        self.name = name
        self.group_id = f"bridge-{service}.{name}"
        self.inbox_name = f"{service}.{name}"
        self.topic_prefix = topic_prefix
        self.topics = [topic_prefix + t for t in topics]
        self._pool = pool
        self.max_attempts = max_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.batch = batch
        self.batch_max_records = batch_max_records
        self.revoke_timeout = revoke_timeout
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.batch_poll_ms = batch_poll_ms
        self._on_dead_letter = on_dead_letter
        self._handlers: dict[str, Handler] = {}
        self._batch_handler: BatchHandler | None = None
        self._many: dict[str, BatchHandler] = {}  # set-based handlers per type (handle_many)
        self._dead_letters: DeadLetterPublisher | None = None
        self._in_flight: _InFlight | None = None
        self._revoking = False
        self.rebalances = RebalanceStats()
        self.subscriber: Any = None
        self._subscription: Any = None  # FastStream's subscriber: its `consumer` is the aiokafka client

    def on(self, *payloads: type[EventPayload]) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            for p in payloads:
                self._handlers[p.event_type] = fn
            return fn

        return register

    def handle(
        self, kind: type[P], use_case: Callable[[asyncpg.Connection[Any], P], Awaitable[None]]
    ) -> None:
        """Registers a use case for events of `kind`, handing it the payload typed as `kind`:
        `consumer.handle(PairFormedV1, partial(relationships.start, rt))`. A payload of another class
        under that event type is a registration bug: dead-lettered at once, never retried."""

        async def handler(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
            try:
                payload = event.payload_as(kind)
            except TypeError as exc:
                raise PermanentEventError(str(exc)) from exc
            await use_case(conn, payload)

        self._handlers[kind.event_type] = handler

    def handle_many(
        self, kind: type[P], use_case: Callable[[asyncpg.Connection[Any], list[P]], Awaitable[None]]
    ) -> None:
        """Registers a set-based use case for events of `kind`: on the batch path every run of
        consecutive fresh events of this type in a batch is handed over in one call (in partition
        order, inside the batch's transaction); one at a time (the fallback after a failed batch, or
        a consumer without batches) it gets a list of one."""

        def typed(event: InboundEvent) -> P:
            try:
                return event.payload_as(kind)
            except TypeError as exc:
                raise PermanentEventError(str(exc)) from exc

        async def handler(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
            await use_case(conn, [typed(event)])

        async def many(conn: asyncpg.Connection[Any], events: list[InboundEvent]) -> None:
            await use_case(conn, [typed(e) for e in events])

        self._handlers[kind.event_type] = handler
        self._many[kind.event_type] = many

    def on_batch(self, fn: BatchHandler) -> BatchHandler:
        """Optional: handles a whole batch of fresh events of the registered types at once."""
        self._batch_handler = fn
        return fn

    @property
    def handled_types(self) -> set[str]:
        return set(self._handlers)

    def attach(self, broker: KafkaBroker) -> None:
        self._dead_letters = DeadLetterPublisher(
            broker, service=self.service, consumer=self.name, topic_prefix=self.topic_prefix
        )
        common: dict[str, Any] = {
            "group_id": self.group_id,
            "auto_offset_reset": "earliest",
            "fetch_max_wait_ms": self.fetch_max_wait_ms,
            # Offsets are committed here, per partition, only for records that are done (see above).
            "ack_policy": AckPolicy.MANUAL,
            "listener": _RebalanceListener(self),
            "title": f"{self.service}.{self.name}",
            "description": "Handles: " + ", ".join(sorted(self._handlers)),
            # Decoding happens here, so a malformed body reaches the dead-letter path, not FastStream.
            "decoder": _raw_body,
        }
        if self.batch:
            sub = broker.subscriber(
                *self.topics,
                batch=True,
                max_records=self.batch_max_records,
                # FastStream sleeps this long again after an empty poll: it bounds how late a
                # batch consumer sees an event at an idle partition (with consumer_fetch_max_wait_ms).
                batch_timeout_ms=self.batch_poll_ms,
                parser=_batch_parser,  # trace links and baggage from the batch's last 128 records
                **common,
            )
            self._subscription = sub

            async def on_batch(msg: KafkaMessage) -> None:
                raw = msg.raw_message
                records = list(raw) if isinstance(raw, tuple) else [raw]
                if not await self._deliver(msg.consumer, records, self.process_batch):
                    msg.committed = AckStatus.NACKED  # for FastStream's metrics: read again later

            self.subscriber = sub(on_batch)
        else:
            sub = broker.subscriber(*self.topics, **common)
            self._subscription = sub

            async def on_message(msg: KafkaMessage) -> None:
                raw = msg.raw_message
                assert not isinstance(raw, tuple)
                if not await self._deliver(msg.consumer, [raw], self._process_records):
                    msg.committed = AckStatus.NACKED  # for FastStream's metrics: read again later

            self.subscriber = sub(on_message)

    async def lag(self) -> dict[TopicPartition, int]:
        """Per partition this instance consumes: the log-end offset minus the group's committed
        offset (the partition's first offset when nothing is committed yet). Asks the broker."""
        consumer = getattr(self._subscription, "consumer", None)
        if not isinstance(consumer, AIOKafkaConsumer):
            return {}  # not started (or stopped)
        assigned = sorted(consumer.assignment())
        if not assigned:
            return {}
        ends = await consumer.end_offsets(assigned)
        committed = await asyncio.gather(*(consumer.committed(tp) for tp in assigned))
        missing = [tp for tp, c in zip(assigned, committed, strict=True) if c is None]
        firsts = await consumer.beginning_offsets(missing) if missing else {}
        return {
            tp: max(int(ends[tp]) - int(firsts[tp] if c is None else c), 0)
            for tp, c in zip(assigned, committed, strict=True)
        }

    # -- decoding -----------------------------------------------------------------------------

    async def decode(self, rec: Record) -> InboundEvent | None:
        """The event, or None when this consumer does not handle its type (see the module's rule for
        types). Raises EnvelopeError (UnknownEventVersion for an unknown version of a handled family,
        UnexpectedSource for an event its topic's owner did not publish)."""
        head = self._prepare(rec)
        if head is None:
            return None
        attrs, prepared = head
        keys = await self._keys_for(set(prepared.subjects)) if prepared.subjects else {}
        return self._finish(rec, attrs, prepared, keys)

    def _prepare(self, rec: Record) -> tuple[CloudEventAttributes, PreparedPayload] | None:
        """Decoding's first half: headers, the source and type rules, the parsed body."""
        attrs = parse_attributes(rec.headers or ())
        wrong_source = unexpected_source(rec.topic, attrs.source, self.topic_prefix)
        if wrong_source is not None:
            raise UnexpectedSource(f"{wrong_source} (event {attrs.id}, type {attrs.type})")
        if upcast_target(attrs.type) not in self._handlers:
            self._not_handled(attrs.type)
            return None
        return attrs, prepare_payload(attrs, rec.value)

    @staticmethod
    def _finish(
        rec: Record, attrs: CloudEventAttributes, prepared: PreparedPayload, keys: Keys
    ) -> InboundEvent:
        payload = finish_payload(prepared, keys)
        if payload.event_type != attrs.type:  # upcast: handlers and the inbox see the type they handle
            attrs = dataclasses.replace(attrs, type=payload.event_type)
        key = rec.key.decode("utf-8", "replace") if rec.key is not None else None
        return InboundEvent(attrs, payload, rec.topic, rec.partition, rec.offset, key)

    async def _decode_batch(
        self, records: list[Record], progress: Progress
    ) -> list[tuple[Record, InboundEvent]]:
        """Decodes a batch with one key-vault query for all its sealed fields. Records that are not
        valid events are dead-lettered, those of types not handled here skipped (both done)."""
        heads: list[tuple[Record, CloudEventAttributes, PreparedPayload]] = []
        for rec in records:
            try:
                head = self._prepare(rec)
            except EnvelopeError as exc:
                await self._dead_letter(rec, exc, attempts=1)
                progress.done(rec)
                continue
            if head is None:
                progress.done(rec)
            else:
                heads.append((rec, *head))
        subjects = set().union(*(prepared.subjects for _, _, prepared in heads))
        keys = await self._keys_for(subjects) if subjects else {}
        decoded: list[tuple[Record, InboundEvent]] = []
        for rec, attrs, prepared in heads:
            try:
                decoded.append((rec, self._finish(rec, attrs, prepared, keys)))
            except EnvelopeError as exc:
                await self._dead_letter(rec, exc, attempts=1)
                progress.done(rec)
        return decoded

    async def _keys_for(self, subjects: set[str]) -> Keys:
        """Keys to open an event's sealed fields (cached; an outage raises, and the record is read again)."""
        cached = VAULT.cached_keys(subjects)
        if cached is not None:
            return cached
        async with self._pool().acquire() as conn:
            return await VAULT.keys_for_opening(as_connection(conn), subjects)

    def known_versions(self, family: str) -> list[int]:
        """The versions of an event family (`com.bridge.matching.pair.formed`) this consumer handles."""
        return sorted(v for f, v in filter(None, map(split_type, self._handlers)) if f == family)

    def _not_handled(self, event_type: str) -> None:
        """Applies the rule for a type without a handler here: returns to skip, raises to dead-letter."""
        parts = split_type(event_type)
        known = self.known_versions(parts[0]) if parts is not None and is_bridge_type(event_type) else []
        if not known and spec_for(event_type) is not None:
            return  # a registered type of a family this consumer does not handle: another event
        action = "dead_lettered" if known else "skipped"
        EVENTS_UNKNOWN.labels(self.service, self.name, event_type, action).inc()
        if (self.group_id, event_type) not in _UNKNOWN_LOGGED:
            _UNKNOWN_LOGGED.add((self.group_id, event_type))
            log.warning(
                "%s: unknown event type %s on %s; %s (logged once per process)",
                self.group_id,
                event_type,
                ", ".join(self.topics),
                "dead-lettering: a version of a family it handles, without handler or upcaster"
                if known
                else "skipping",
            )
        if known:
            versions = ", ".join(f"v{v}" for v in known)
            raise UnknownEventVersion(
                f"unknown version {event_type}; this consumer knows {versions} "
                "(no handler for it here, and no upcaster turns it into a handled version)"
            )

    # -- delivery, offsets and rebalances -------------------------------------------------------

    async def _deliver(
        self,
        client: object,
        records: list[Record],
        work: Callable[[list[Record], Progress], Coroutine[Any, Any, None]],
    ) -> bool:
        """Runs one unit of work (a record or a batch) as a task a revocation can wait for or cancel,
        then commits the offsets of what is done. True when every record is done."""
        consumer = client if isinstance(client, AIOKafkaConsumer) else None  # None in TestKafkaBroker
        left = 0
        if consumer is not None:
            # Handed over before a revocation began, or for a partition that is no longer ours:
            # the partition's owner reads these from the committed offset.
            assigned = set() if self._revoking else consumer.assignment()
            kept = [rec for rec in records if _tp(rec) in assigned]
            left = len(records) - len(kept)
            if left:
                self.rebalances.records_left_for_owner += left
                log.info("%s: leaving %d record(s) of revoked partitions to their owner", self.group_id, left)
            records = kept
        if not records:
            return left == 0
        progress = Progress(records)
        flight = _InFlight(asyncio.create_task(work(records, progress)), progress)
        self._in_flight = flight
        try:
            try:
                await flight.task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if not flight.abandoned or (current is not None and current.cancelling()):
                    raise
            except InfrastructureUnavailable:
                pass  # logged and paused already; the partition is rewound below
            except Exception:
                log.exception("%s: unexpected error; the records will be read again", self.group_id)
                await asyncio.sleep(self.backoff_max)
            if consumer is not None:
                await self._commit(consumer, flight)
                if not flight.abandoned:
                    self._rewind(consumer, progress)
            return left == 0 and not progress.unfinished()
        finally:
            if self._in_flight is flight:
                self._in_flight = None
            flight.finished.set()

    async def _commit(self, consumer: AIOKafkaConsumer, flight: _InFlight) -> None:
        if flight.closed:
            return  # the group has moved on; the owner reads these again and the inbox absorbs them
        assigned = consumer.assignment()
        offsets = {tp: o for tp, o in flight.progress.committable().items() if tp in assigned}
        if not offsets:
            return
        try:
            # Bounded: a commit caught by the broker's death can wait on the group coordinator for
            # good (make chaos saw one stall a consumer for minutes); uncommitted offsets only
            # mean the records are read again, and the inbox absorbs them.
            async with asyncio.timeout(COMMIT_TIMEOUT_SECONDS):
                await consumer.commit(offsets)
        except (KafkaError, TimeoutError) as exc:
            self.rebalances.commit_failures += 1
            log.warning(
                "%s: offset commit failed (%r); the records will be read again, without effect",
                self.group_id,
                exc,
            )

    def _rewind(self, consumer: AIOKafkaConsumer, progress: Progress) -> None:
        """Reads unfinished records again (the client already moved past them)."""
        assigned = consumer.assignment()
        for tp, offset in progress.unfinished().items():
            if tp in assigned:
                consumer.seek(tp, offset)

    async def _on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._revoking = True
        if revoked:
            self.rebalances.revocations += 1
        flight = self._in_flight
        if flight is None:
            return
        self.rebalances.waited_for_in_flight += 1
        log.info("%s: partitions revoked; finishing the in-flight work first", self.group_id)
        try:
            await asyncio.wait_for(flight.finished.wait(), self.revoke_timeout)
            return
        except TimeoutError:
            pass
        flight.abandoned = True
        self.rebalances.abandoned += 1
        log.warning(
            "%s: in-flight work still running after %.1fs; abandoning it (rolled back or already "
            "committed, either way safe to read again)",
            self.group_id,
            self.revoke_timeout,
        )
        flight.task.cancel()
        try:
            await asyncio.wait_for(flight.finished.wait(), ABANDON_GRACE_SECONDS)
        except TimeoutError:
            log.error("%s: abandoned work did not stop in time; rejoining anyway", self.group_id)
        finally:
            flight.closed = True

    def _on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        # Positions of the new assignment come from the committed offsets; nothing else to do.
        self._revoking = False

    # -- one at a time ------------------------------------------------------------------------

    async def _process_records(self, records: list[Record], progress: Progress) -> None:
        for rec in records:
            await self.process(rec, progress)

    async def process(self, rec: Record, progress: Progress | None = None) -> None:
        trace.get_current_span().set_attribute("messaging.consumer.group.name", self.group_id)
        try:
            event = await self.decode(rec)
        except EnvelopeError as exc:
            await self._dead_letter(rec, exc, attempts=1)
            event = None
        if event is not None:
            await self._handle_with_retries(rec, event)
        if progress is not None:
            progress.done(rec)

    async def _handle_with_retries(self, rec: Record, event: InboundEvent) -> None:
        """Returns once the event had its effect or was dead-lettered; raises if neither happened."""
        handler = self._handlers[event.type]
        attempts = 0
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.max_attempts),
                wait=wait_random_exponential(multiplier=self.backoff_initial, max=self.backoff_max),
                retry=retry_if_not_exception_type((PermanentEventError, _Infrastructure)),
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    try:
                        await self._apply(handler, event)
                    except Exception as exc:
                        if is_infrastructure_error(exc):
                            raise _Infrastructure() from exc
                        raise
        except _Infrastructure as wrapped:
            await self._pause_for_infrastructure(wrapped.__cause__ or wrapped)
        except Exception as exc:
            log.exception("event %s (%s) failed after %d attempts", event.id, event.type, attempts)
            await self._dead_letter(rec, exc, attempts=attempts)

    async def _apply(self, handler: Handler, event: InboundEvent) -> None:
        async with self._pool().acquire() as conn, conn.transaction():
            fresh = await claim(as_connection(conn), self.inbox_name, event)
            if fresh:
                await handler(as_connection(conn), event)
        if fresh:
            self._log_handled(event)

    def _log_handled(self, event: InboundEvent) -> None:
        """The one INFO line per event applied (after its transaction committed; a redelivery the
        inbox absorbs logs nothing). Type and ids only: never the payload's personal data."""
        log.info(
            "handled %s %s",
            event.type,
            event.id,
            extra={"event_type": event.type, "event_id": event.id, "consumer_group": self.group_id},
        )

    # -- batches ------------------------------------------------------------------------------

    async def process_batch(self, records: list[Record], progress: Progress | None = None) -> None:
        """Applies a delivery's records as one batch; `progress` tracks exactly these records."""
        # FastStream's batch span links to its records' producer traces (the last 128, as OpenTelemetry
        # keeps); we add the group name.
        trace.get_current_span().set_attribute("messaging.consumer.group.name", self.group_id)
        await self._process_batch(records, progress or Progress(records))

    async def _process_batch(self, records: list[Record], progress: Progress) -> None:
        decoded = await self._decode_batch(records, progress)
        if not decoded:
            return
        try:
            fresh = await self._apply_batch([e for _, e in decoded])
        except Exception as exc:
            if is_infrastructure_error(exc):
                await self._pause_for_infrastructure(exc)
            log.warning("batch of %d failed; retrying one event at a time", len(decoded), exc_info=True)
        else:
            for event in fresh:
                self._log_handled(event)
            # The decoded records took effect; the others were done (skipped or dead-lettered) in
            # decoding: the whole delivery is done.
            progress.all_done()
            return
        for rec, event in decoded:
            await self._handle_with_retries(rec, event)
            progress.done(rec)

    async def _apply_batch(self, events: list[InboundEvent]) -> list[InboundEvent]:
        """The batch's inbox claim and effects in one transaction; the events it applied (not seen
        before). A transaction PostgreSQL rolled back to break a deadlock or a serialization
        conflict (two consumers' batches upserting the same rows in different orders) is run again,
        whole, up to BATCH_TRANSACTION_ATTEMPTS times, as PostgreSQL asks of its victims, before
        the batch falls back to one event at a time."""
        fresh: list[InboundEvent] = []
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(BATCH_TRANSACTION_ATTEMPTS),
            wait=wait_random(0.02, 0.2),  # apart from the transaction that won
            retry=retry_if_exception_type(asyncpg.TransactionRollbackError),
            before_sleep=self._log_batch_rollback,
            reraise=True,
        ):
            with attempt:
                async with self._pool().acquire() as conn, conn.transaction():
                    fresh = await claim_many(as_connection(conn), self.inbox_name, events)
                    if self._batch_handler is not None:
                        await self._batch_handler(as_connection(conn), fresh)
                    else:
                        await self._apply_in_order(as_connection(conn), fresh)
        return fresh

    def _log_batch_rollback(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "%s: batch transaction rolled back (%s); running it again (attempt %d of %d)",
            self.group_id,
            type(error).__name__,
            state.attempt_number + 1,
            BATCH_TRANSACTION_ATTEMPTS,
        )

    async def _apply_in_order(self, conn: asyncpg.Connection[Any], events: list[InboundEvent]) -> None:
        """The batch's events in order: a run of consecutive events of a type with a set-based
        handler (handle_many) in one call, every other event by its own handler."""
        at = 0
        while at < len(events):
            many = self._many.get(events[at].type)
            if many is None:
                await self._handlers[events[at].type](conn, events[at])
                at += 1
                continue
            end = at + 1
            while end < len(events) and events[end].type == events[at].type:
                end += 1
            await many(conn, events[at:end])
            at = end

    # -- failure paths ------------------------------------------------------------------------

    async def _dead_letter(self, rec: Record, exc: BaseException, *, attempts: int) -> None:
        assert self._dead_letters is not None, "attach() the consumer to a broker first"
        log.warning(
            "dead-lettering %s[%d]@%d: %s",
            rec.topic,
            rec.partition,
            rec.offset,
            exc,
        )
        await self._dead_letters.send(DeadLetter(rec, f"{exc}", type(exc).__name__, attempts))
        if self._on_dead_letter is not None:
            self._on_dead_letter(type(exc).__name__)

    async def _pause_for_infrastructure(self, exc: BaseException) -> None:
        log.error("dependency unavailable, record will be read again: %s", exc)
        await asyncio.sleep(self.backoff_max)
        raise InfrastructureUnavailable(str(exc)) from exc
