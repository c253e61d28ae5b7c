"""Publishes outbox rows to Kafka: in order per key, one fenced leader at a time, parking what cannot go.

Leadership. A relay competes for a session advisory lock on a dedicated connection, then takes the
schema's lease row (`outbox_relay_lease`), bumping its epoch (the fencing token). The lease can be
taken only once it has expired or its holder released it. Before every batch the leader renews the
lease in the same statement that reads the batch, on the lock connection, and only while the epoch
is still its own and that session still holds the lock; results are recorded only while the epoch
is its own. A batch is sent and acknowledged within `send_timeout_seconds`, shorter than the lease,
so a leader that loses its lock session can finish or abandon the batch it is sending before anyone
else may start: the standby waits for the lease to be released (at once, when the old leader's
sends have all resolved) or to expire. A leader stops sending as soon as it notices the loss.

Per-key order. Rows of one topic + key are never in flight together: a batch goes out in waves, the
n-th wave holding the n-th row of each key, and the next wave starts only when the previous one is
acknowledged. If a send fails, no later row of that key has been sent, so what lands on the topic
and what is marked published is always a prefix of each key's rows; the next attempt resends from
the first failure. Different keys are pipelined.

Batches back to back. While claims come back full, one drain publishes up to `PIPELINED_BATCHES`
batches, and a batch's outcomes are recorded (on a pool connection) while the next batch is sent:
the next claim leaves the rows being recorded out, and a key with a failed or unresolved row stays
blocked for the rest of the drain, so the order rule above holds across batches too.

Parking. A row that cannot be published is set aside with its reason: too large for the broker,
unserialisable (headers that are not strings), or rejected `max_attempts` times by the broker with a
non-transient error. Transient trouble (broker down, timeouts, leader changes) never parks a row;
the rows wait and go out when the broker is back. Later rows of the parked row's own key wait behind
it, so consumers never see an aggregate's events with a gap; every other key keeps flowing.
`bridge-outbox retry` / `discard` release them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import errors as kafka_errors
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

from bridge_shared.db.locks import advisory_key, key_parts
from bridge_shared.db.pool import _init_connection
from bridge_shared.observability.metrics import ServiceMetrics
from bridge_shared.outbox.monitor import OutboxStatus, pool_outbox_status
from bridge_shared.outbox.writer import DEFAULT_MAX_EVENT_BYTES, notify_channel, record_size
from bridge_shared.scheduling.worker import Worker

log = logging.getLogger(__name__)

_TRACE_HEADERS = ("traceparent", "tracestate", "baggage")
_TRACER = trace.get_tracer("bridge_shared.outbox.relay")
MAX_SPAN_LINKS = 128  # a batch span links to at most this many other writers' traces
_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


@dataclass(frozen=True)
class PendingRow:
    id: int
    event_id: str
    topic: str
    key: str
    headers: dict[str, str]
    payload: bytes


def _trace_carrier(row: PendingRow) -> dict[str, str]:
    return {k: row.headers[k] for k in _TRACE_HEADERS if k in row.headers}


def _log_published(row: PendingRow) -> None:
    """The one INFO line per event the service publishes, in the trace of the request that wrote it.
    Type, key (an id: every contract is keyed by an id) and event id only: never personal data."""
    if not log.isEnabledFor(logging.INFO):
        return
    token = otel_context.attach(propagate.extract(_trace_carrier(row)))
    try:
        event_type = row.headers.get("ce_type", "event")
        log.info(
            "published %s key=%s",
            event_type,
            row.key,
            extra={"event_type": event_type, "event_id": row.event_id, "topic": row.topic},
        )
    finally:
        otel_context.detach(token)


# Sends one row and resolves when the broker has acknowledged it.
SendFn = Callable[[PendingRow], Awaitable[Awaitable[Any]]]


# Batches one drain publishes back to back while claims come back full (each batch's outcomes are
# recorded while the next one is sent); then the publishing loop checks in (stop, wake-ups).
PIPELINED_BATCHES = 8


class LeadershipLost(Exception):
    """The lock session ended or another relay took the lease; stop publishing."""


class Unpublishable(Exception):
    """A row that can never be published as it is (too large, unserialisable): parked at once."""


class _Stopped(Exception):
    pass


class _NoProgress(Exception):
    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


# The broker says this record can never be written as it is.
_PERMANENT = (
    Unpublishable,
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordTooLargeError,
    kafka_errors.RecordListTooLargeError,
)
# A dependency is down or busy, or the producer's own session is out of step (sequence numbers,
# epochs: not this record's fault); the same row will go through later.
_TRANSIENT = (
    OSError,
    TimeoutError,
    asyncio.CancelledError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.KafkaConnectionError,
    kafka_errors.ProducerClosed,
    kafka_errors.OutOfOrderSequenceNumber,
    kafka_errors.DuplicateSequenceNumber,
    kafka_errors.InvalidProducerEpoch,
    kafka_errors.ProducerFenced,
    kafka_errors.UnknownProducerId,
)


def is_permanent(exc: BaseException) -> bool:
    return isinstance(exc, _PERMANENT)


def counts_toward_parking(exc: BaseException) -> bool:
    """A non-transient broker rejection: after `max_attempts` of these the row is parked.

    Anything else (connection trouble, timeouts, retriable broker errors, and errors that are not
    the broker's answer about this record) is treated as transient: the row waits, never parks.
    """
    if is_permanent(exc) or isinstance(exc, _TRANSIENT):
        return False
    return isinstance(exc, kafka_errors.KafkaError) and not exc.retriable


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


TAKE_LEASE_SQL = """
UPDATE outbox_relay_lease
   SET epoch = epoch + 1, holder = $1, acquired_at = now(), renewed_at = now(),
       expires_at = now() + make_interval(secs => $2)
 WHERE expires_at <= now()
RETURNING epoch
"""

# Renews the lease and reads the next batch in one statement on the lock connection: rows come back
# only while the epoch is ours and this session still holds the advisory lock. A lease that is ours
# may be renewed even after it expired: nobody else has taken it (that would have bumped the epoch).
# No rows at all = fenced; one row of NULLs = leader, nothing to do.
CLAIM_SQL = """
WITH lease AS (
    UPDATE outbox_relay_lease
       SET renewed_at = now(), expires_at = now() + make_interval(secs => $2)
     WHERE epoch = $1
       AND EXISTS (SELECT 1 FROM pg_locks
                    WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                      AND classid::bigint = $4 AND objid::bigint = $5 AND objsubid = 1)
    RETURNING epoch
)
SELECT o.id, o.event_id, o.topic, o.partition_key, o.headers, o.payload
  FROM lease
  LEFT JOIN LATERAL (
        SELECT c.id, c.event_id, c.topic, c.partition_key, c.headers, c.payload
          FROM outbox c
         WHERE c.published_at IS NULL AND c.parked_at IS NULL
           AND c.id <> ALL($6::bigint[])
           AND NOT EXISTS (SELECT 1 FROM outbox p
                            WHERE p.parked_at IS NOT NULL AND p.discarded_at IS NULL
                              AND p.topic = c.topic AND p.partition_key = c.partition_key
                              AND p.id < c.id)
         ORDER BY c.id
         LIMIT $3) o ON true
 ORDER BY o.id
"""

# Records a batch's outcome in one statement, only while the epoch is ours. FOR SHARE on the lease
# row makes a concurrent takeover wait until this commits, so the new leader reads these marks.
# `id = ANY(...)` keeps the plan on the primary key however large the table or stale its statistics.
RECORD_SQL = """
WITH lease AS (SELECT epoch FROM outbox_relay_lease WHERE epoch = $1 FOR SHARE)
UPDATE outbox o
   SET published_at = CASE WHEN u.error IS NULL THEN now() END,
       attempts = o.attempts + 1,
       rejections = o.rejections + u.rejected::int,
       last_error = u.error,
       parked_at = CASE WHEN u.error IS NOT NULL
                             AND (u.permanent OR (u.rejected AND o.rejections + 1 >= $6))
                        THEN now() END,
       parked_reason = CASE WHEN u.error IS NOT NULL
                                 AND (u.permanent OR (u.rejected AND o.rejections + 1 >= $6))
                            THEN u.error END
  FROM unnest($2::bigint[], $3::text[], $4::bool[], $5::bool[]) AS u(id, error, permanent, rejected)
 WHERE o.id = ANY($2::bigint[]) AND o.id = u.id
   AND o.published_at IS NULL AND o.parked_at IS NULL
   AND EXISTS (SELECT 1 FROM lease)
RETURNING o.id, o.published_at IS NOT NULL AS published, o.parked_at IS NOT NULL AS parked
"""


@dataclass
class DrainResult:
    claimed: int = 0
    more: bool = False  # the last claim came back full: there is more to publish at once
    published: int = 0
    parked: int = 0
    error: BaseException | None = None

    @property
    def handled(self) -> int:
        return self.published + self.parked


@dataclass
class _Outcome:
    exc: BaseException | None = None
    reason: str | None = None

    @property
    def permanent(self) -> bool:
        return self.exc is not None and is_permanent(self.exc)

    @property
    def rejected(self) -> bool:
        return self.exc is not None and counts_toward_parking(self.exc)


_ACKED = _Outcome()


def _failure(exc: BaseException) -> _Outcome:
    return _Outcome(exc, _describe(exc))


class OutboxRelay:
    def __init__(
        self,
        *,
        dsn: str,
        pool: asyncpg.Pool,
        schema: str,
        send: SendFn,
        batch_size: int = 500,
        idle_poll_seconds: float = 5.0,
        send_timeout_seconds: float = 30.0,
        lease_seconds: float = 60.0,
        max_attempts: int = 5,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        metrics: ServiceMetrics | None = None,
        send_now: Callable[[], None] | None = None,
    ) -> None:
        """`send_now`: called once a wave's rows are all handed to `send`, so the transport sends what
        it holds at once instead of waiting out its linger (the wave waits for those acks next);
        outbox/sender.send_now for the service's producer."""
        if lease_seconds <= send_timeout_seconds:
            raise ValueError("lease_seconds must be longer than send_timeout_seconds")
        self.dsn = dsn
        self.pool = pool
        self.schema = schema
        self.send = send
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self.send_timeout_seconds = send_timeout_seconds
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.max_event_bytes = max_event_bytes
        self.metrics = metrics
        self.send_now = send_now
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._outer: Worker | None = None
        self._inner: Worker | None = None
        self._lock_lost = asyncio.Event()
        self._lock_conn: asyncpg.Connection[Any] | None = None
        self._inflight: set[asyncio.Future[Any]] = set()
        # Row id -> ack of a send whose ack did not come within the send timeout.
        self._unresolved: dict[int, asyncio.Future[Any]] = {}
        self._batch_trace: dict[str, str] = {}  # the batch span's trace headers, while it sends
        self.is_leader = False
        self.epoch: int | None = None
        self.lock_pid: int | None = None
        self.last_error: str | None = None

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        for worker in (self._outer, self._inner):
            if worker is not None:
                worker.interrupt()

    # ------------------------------------------------------------------------------------ loop

    async def run(self) -> None:
        """Competes for leadership and publishes while leader, until stopped.

        Both loops are the shared `Worker`: the outer one competes for leadership (a lost database
        connection backs off); after leadership ends (lock session lost or fenced) it competes again
        after a short pause. The inner one publishes while leader: woken by NOTIFY and acks, polling
        every `idle_poll_seconds`, backing off while a batch makes no progress.
        """
        leading = Worker(
            f"outbox relay for {self.schema}",
            self._lead,
            poll_seconds=min(self.idle_poll_seconds, 1.0),
            stop_when=self._stopping.is_set,
            retry=lambda exc: isinstance(exc, Exception) and not isinstance(exc, _Stopped),
            on_failure=self._lost_connection,
        )
        self._outer = leading
        try:
            await leading.run()
        except _Stopped:
            return

    async def _lead(self) -> bool:
        try:
            async with self.leadership():
                publishing = Worker(
                    f"outbox publishing for {self.schema}",
                    self._drain_tick,
                    poll_seconds=self.idle_poll_seconds,
                    stop_when=self._quit,
                    retry=lambda exc: isinstance(exc, _NoProgress),
                    wake_event=self._wake,
                )
                self._inner = publishing
                try:
                    await publishing.run()
                finally:
                    self._inner = None
        except LeadershipLost as exc:
            log.warning("outbox relay for %s stopped publishing: %s", self.schema, exc)
        return False

    async def _drain_tick(self) -> bool:
        """One batch; True when there is more to publish at once."""
        result = await self._drain()
        if result.error is not None:
            self.last_error = _describe(result.error)
            log.warning("outbox publish failed, will retry: %s", self.last_error)
            if result.handled == 0:
                raise _NoProgress(result.error)
            return True
        self.last_error = None
        return result.more

    def _quit(self) -> bool:
        return self._stopping.is_set() or self._lock_lost.is_set()

    def _lost_connection(self, _exc: BaseException | None) -> None:
        self.is_leader = False  # the Worker logs the error

    async def _pause(self, seconds: float) -> bool:
        """Sleeps unless stopped; returns True when stopping."""
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    # ------------------------------------------------------------------------------ leadership

    @contextlib.asynccontextmanager
    async def leadership(self) -> AsyncIterator[int]:
        """Waits for the advisory lock and the lease, holds them, and releases them on exit."""
        conn: asyncpg.Connection[Any] = await asyncpg.connect(
            self.dsn,
            server_settings={
                "search_path": self.schema,
                "application_name": f"bridge-outbox-relay:{self.schema}"[:63],
                # This connection runs only the relay's claim: plan it for the actual arguments.
                "plan_cache_mode": "force_custom_plan",
            },
        )
        self._lock_lost.clear()
        conn.add_termination_listener(self._on_lock_session_closed)
        try:
            await _init_connection(conn)
            while not await conn.fetchval(
                "SELECT pg_try_advisory_lock($1)", advisory_key("outbox-relay", self.schema)
            ):
                if await self._pause(self.idle_poll_seconds):
                    raise _Stopped
            epoch = await self._take_lease(conn)
            self._lock_conn, self.epoch, self.lock_pid = conn, epoch, conn.get_server_pid()
            self.is_leader = True
            log.info("outbox relay for %s is the leader (epoch %s)", self.schema, epoch)
            await conn.add_listener(notify_channel(self.schema), self._on_notify)
            try:
                yield epoch
            finally:
                self.is_leader = False
                self._lock_conn = None
                await self._release(epoch)
                self.epoch = None
        finally:
            conn.remove_termination_listener(self._on_lock_session_closed)
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    async def _take_lease(self, conn: asyncpg.Connection[Any]) -> int:
        waiting_logged = False
        while True:
            epoch = await conn.fetchval(TAKE_LEASE_SQL, self.holder, self.lease_seconds)
            if epoch is not None:
                return int(epoch)
            row = await conn.fetchrow(
                "SELECT holder, epoch, extract(epoch FROM expires_at - now())::float8 AS remaining "
                "FROM outbox_relay_lease"
            )
            if row is None:  # the lease row is gone (hand-edited table): put it back
                await conn.execute("INSERT INTO outbox_relay_lease DEFAULT VALUES ON CONFLICT DO NOTHING")
                continue
            if not waiting_logged:
                log.info(
                    "outbox relay for %s waits for the lease of %s (epoch %s) to expire or be released, "
                    "at most %.1fs",
                    self.schema,
                    row["holder"],
                    row["epoch"],
                    row["remaining"],
                )
                waiting_logged = True
            if await self._pause(min(max(row["remaining"], 0.05), 0.5)):
                raise _Stopped

    async def _release(self, epoch: int) -> None:
        """Hands the lease back at once, but only when none of our sends can still land."""
        unresolved = sum(1 for f in self._inflight if not f.done())
        if unresolved:
            log.warning(
                "outbox relay for %s leaves its lease (epoch %s) to expire: %d sends unresolved",
                self.schema,
                epoch,
                unresolved,
            )
            return
        try:
            async with self.pool.acquire() as conn:
                await conn.execute(
                    "UPDATE outbox_relay_lease SET expires_at = now() WHERE epoch = $1 AND holder = $2",
                    epoch,
                    self.holder,
                )
        except _DB_ERRORS as exc:
            log.warning("outbox relay for %s could not release its lease: %s", self.schema, exc)

    def _on_lock_session_closed(self, _conn: Any) -> None:
        self._lock_lost.set()
        self._wake.set()
        if self._inner is not None:
            self._inner.interrupt()

    def _on_notify(self, *_args: Any) -> None:
        self._wake.set()

    # ---------------------------------------------------------------------------------- batches

    async def drain_once(self) -> int:
        """Publishes up to one batch; returns how many rows were published or parked.

        Outside `run()` / `leadership()` this takes leadership for the one batch (never call it
        while `run()` is active). Raises the send error when a batch failed without publishing
        or parking anything.
        """
        if self.epoch is None:
            async with self.leadership():
                result = await self._drain()
        else:
            result = await self._drain()
        if result.error is not None and result.handled == 0:
            raise result.error
        return result.handled

    async def _claim(self, exclude: list[int]) -> list[PendingRow]:
        """The next batch (renewing the lease), leaving out `exclude`: the rows whose outcomes
        are being recorded."""
        conn = self._lock_conn
        if conn is None or conn.is_closed() or self._lock_lost.is_set():
            raise LeadershipLost("the lock session has ended")
        hi, lo = key_parts(advisory_key("outbox-relay", self.schema))
        try:
            records = await conn.fetch(
                CLAIM_SQL, self.epoch, self.lease_seconds, self.batch_size, hi, lo, exclude
            )
        except _DB_ERRORS as exc:
            raise LeadershipLost(f"the lock session failed: {exc}") from exc
        if not records:
            raise LeadershipLost(f"epoch {self.epoch} was superseded or the advisory lock is gone")
        return [
            PendingRow(r["id"], r["event_id"], r["topic"], r["partition_key"], r["headers"], r["payload"])
            for r in records
            if r["id"] is not None
        ]

    def _unpublishable(self, row: PendingRow) -> str | None:
        headers: Any = row.headers
        if not isinstance(headers, dict) or not {*map(type, headers), *map(type, headers.values())} <= {str}:
            return "unserialisable: headers must map strings to strings"
        # A UTF-8 character is at most 4 bytes: only a record that may be too large is measured.
        chars = len(row.key) + sum(map(len, headers)) + sum(map(len, headers.values()))
        if len(row.payload) + 4 * chars <= self.max_event_bytes:
            return None
        size = record_size(row.key, row.payload, headers)
        if size > self.max_event_bytes:
            return f"too large: {size} bytes (key + value + headers), the limit is {self.max_event_bytes}"
        return None

    async def _drain(self) -> DrainResult:
        """Publishes batches while each claim comes back full (up to `PIPELINED_BATCHES`): every
        batch is claimed, sent and recorded, and a batch's outcomes are recorded (on a pool
        connection) while the next batch is being sent. The next claim leaves the rows being
        recorded out, and keys with a failed or unresolved row stay blocked for the rest of the
        drain, so each key still goes out in order and stops at its first failure."""
        result = DrainResult()
        # Sends we stopped waiting for earlier may have been delivered (or failed) since.
        outcomes: dict[int, _Outcome] = self._harvest()
        blocked: set[tuple[str, str]] = set()  # keys with a failed, parked or unresolved row
        to_record: tuple[dict[int, _Outcome], bool] | None = None  # the previous batch's outcomes
        recording: asyncio.Task[None] | None = None
        try:
            for _ in range(PIPELINED_BATCHES):
                # Give up on acks at the deadline. It counts from before the claim renewed the
                # lease, and the lease outlives it, so nobody else starts while this batch may land.
                deadline = time.monotonic() + self.send_timeout_seconds
                rows = await self._claim(exclude=list(to_record[0]) if to_record else [])
                if to_record is not None:
                    # Recorded while this batch is sent; after the claim, which renews the lease
                    # (the record holds the lease row FOR SHARE while it runs).
                    recording = asyncio.create_task(self._record(*to_record, result))
                    to_record = None
                result.claimed += len(rows)
                result.more = len(rows) >= self.batch_size
                failed = await self._send_batch(rows, deadline, outcomes, blocked)
                if recording is not None:
                    await recording
                    recording = None
                if outcomes:
                    claimed = {r.id for r in rows}
                    to_record = (outcomes, any(i in claimed for i in outcomes))
                outcomes = {}
                if failed or not result.more or self._quit():
                    break
            if to_record is not None:
                await self._record(*to_record, result)
        except BaseException:
            # What was acked is recorded if it still can be (the epoch is checked), else sent again.
            with contextlib.suppress(Exception):
                if recording is not None:
                    await asyncio.shield(recording)
                elif to_record is not None:
                    await asyncio.shield(self._record(*to_record, result))
            raise
        return result

    async def _send_batch(
        self,
        rows: list[PendingRow],
        deadline: float,
        outcomes: dict[int, _Outcome],
        blocked: set[tuple[str, str]],
    ) -> bool:
        """Sends a claimed batch in waves, one row per key a wave; True if a send failed."""
        by_key: dict[tuple[str, str], list[PendingRow]] = {}
        for row in rows:
            by_key.setdefault((row.topic, row.key), []).append(row)
        for key, key_rows in by_key.items():
            while key_rows and outcomes.get(key_rows[0].id) is _ACKED:
                key_rows.pop(0)  # delivered by an earlier send: recorded below, not sent again
            if key_rows and key_rows[0].id in self._unresolved:
                blocked.add(key)  # still in the producer: resending would only pile up copies
        waves = max((len(v) for v in by_key.values()), default=0)
        with self._batch_span(rows):
            for n in range(waves):
                if self._quit():
                    return False  # stop sending at once; what was acked is recorded
                wave = sorted((v[n] for v in by_key.values() if len(v) > n), key=lambda r: r.id)
                if await self._send_wave(wave, deadline, outcomes, blocked):
                    return True
        return False

    def _harvest(self) -> dict[int, _Outcome]:
        outcomes: dict[int, _Outcome] = {}
        for row_id, fut in list(self._unresolved.items()):
            if fut.done():
                del self._unresolved[row_id]
                self._inflight.discard(fut)
                error = asyncio.CancelledError("send cancelled") if fut.cancelled() else fut.exception()
                outcomes[row_id] = _ACKED if error is None else _failure(error)
        return outcomes

    async def _send_wave(
        self,
        wave: list[PendingRow],
        deadline: float,
        outcomes: dict[int, _Outcome],
        blocked: set[tuple[str, str]],
    ) -> bool:
        """Sends one row per key, pipelined, and waits for the acks; True if a send failed."""
        sent: list[tuple[PendingRow, asyncio.Future[Any]]] = []
        failed = False
        current: PendingRow | None = None  # the row being handed to the producer
        batch_trace = self._batch_trace
        try:
            # One deadline for the whole wave (a send waits when the producer's buffer is full).
            async with asyncio.timeout(deadline - time.monotonic()):
                for row in wave:
                    key = (row.topic, row.key)
                    if key in blocked:
                        continue
                    problem = self._unpublishable(row)
                    if problem is not None:
                        outcomes[row.id] = _failure(Unpublishable(problem))
                        blocked.add(key)
                        continue
                    if batch_trace and "traceparent" not in row.headers:
                        row.headers.update(batch_trace)  # the row was read for this batch alone
                    current = row
                    try:
                        ack = await self.send(row)
                    except Exception as exc:
                        current = None
                        self._send_failed(row, exc, outcomes, blocked)
                        if is_permanent(exc):
                            continue  # this row is parked; the others go on
                        failed = True
                        break  # the broker is in trouble: send nothing more now
                    current = None
                    fut: asyncio.Future[Any] = asyncio.ensure_future(ack)
                    self._inflight.add(fut)
                    sent.append((row, fut))
        except TimeoutError as exc:
            failed = True
            if current is not None:
                self._send_failed(current, exc, outcomes, blocked)
        if sent:
            if self.send_now is not None:
                self.send_now()
            await asyncio.wait([f for _, f in sent], timeout=max(deadline - time.monotonic(), 0))
        published: dict[str, int] = {}
        for row, fut in sent:
            if not fut.done():
                # Still in the producer, which may deliver it later: not resent while it is there;
                # its outcome is recorded once it comes (and wakes the relay).
                self._unresolved[row.id] = fut
                fut.add_done_callback(lambda _: self._wake.set())
                error: BaseException | None = TimeoutError(
                    f"no broker ack within {self.send_timeout_seconds}s"
                )
            else:
                self._inflight.discard(fut)
                error = asyncio.CancelledError("send cancelled") if fut.cancelled() else fut.exception()
            if error is None:
                outcomes[row.id] = _ACKED
                _log_published(row)
                published[row.topic] = published.get(row.topic, 0) + 1
            else:
                self._send_failed(row, error, outcomes, blocked)
                failed = failed or not is_permanent(error)
        if self.metrics is not None:
            for topic, n in published.items():
                self.metrics.outbox_sent.labels(topic).inc(n)
        return failed

    def _send_failed(
        self,
        row: PendingRow,
        error: BaseException,
        outcomes: dict[int, _Outcome],
        blocked: set[tuple[str, str]],
    ) -> None:
        outcomes[row.id] = _failure(error)
        blocked.add((row.topic, row.key))
        if self.metrics is not None:
            self.metrics.outbox_send_errors.labels(row.topic, type(error).__name__).inc()

    async def _record(
        self, outcomes: dict[int, _Outcome], fenced_if_empty: bool, result: DrainResult
    ) -> None:
        ids = list(outcomes)
        async with self.pool.acquire() as conn, conn.transaction():
            # A generic plan for the cached statement ignores the arrays' sizes and can scan every
            # pending row; plan this statement for its actual arguments.
            await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            records = await conn.fetch(
                RECORD_SQL,
                self.epoch,
                ids,
                [outcomes[i].reason for i in ids],
                [outcomes[i].permanent for i in ids],
                [outcomes[i].rejected for i in ids],
                self.max_attempts,
            )
        published = sum(1 for r in records if r["published"])
        result.published += published
        result.parked += sum(1 for r in records if r["parked"])
        parked = {r["id"] for r in records if r["parked"]}
        for i in sorted(parked):
            log.error(
                "outbox row %s parked: %s (see bridge-outbox list --schema %s)",
                i,
                outcomes[i].reason,
                self.schema,
            )
        # The batch's error: the first failure that did not end in parking (it will be retried).
        result.error = result.error or next(
            (o.exc for i, o in sorted(outcomes.items()) if o.exc is not None and i not in parked), None
        )
        if self.metrics is not None:
            self.metrics.outbox_published.inc(published)
        if not records and fenced_if_empty:
            acked = sum(1 for o in outcomes.values() if o.exc is None)
            log.error(
                "outbox relay for %s was fenced before recording its batch; %d acknowledged rows "
                "will be published again by the new leader",
                self.schema,
                acked,
            )
            raise LeadershipLost(f"epoch {self.epoch} was superseded while sending")

    @contextlib.contextmanager
    def _batch_span(self, rows: list[PendingRow]) -> Iterator[None]:
        """One PRODUCER span for a batch's sends: a child of the first row's writer (the request or
        job that wrote it), linked to the other writers' traces. The rows keep their stored trace
        context as headers, so each consumer continues its own writer's trace."""
        if not rows:
            yield
            return
        # One context per distinct writer (a bulk write puts one traceparent on thousands of rows).
        writers: dict[str | None, PendingRow] = {}
        for r in rows:
            writers.setdefault(r.headers.get("traceparent"), r)
        contexts = [
            trace.get_current_span(propagate.extract(_trace_carrier(r))).get_span_context()
            for r in writers.values()
        ]
        first = contexts[0]
        seen = {first.trace_id}
        links: list[trace.Link] = []
        for ctx in contexts[1:]:
            if ctx.is_valid and ctx.trace_id not in seen and len(links) < MAX_SPAN_LINKS:
                seen.add(ctx.trace_id)
                links.append(trace.Link(ctx))
        parent = trace.set_span_in_context(trace.NonRecordingSpan(first)) if first.is_valid else None
        with _TRACER.start_as_current_span(
            f"{self.schema} outbox publish",
            context=parent,
            kind=trace.SpanKind.PRODUCER,
            links=links,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.batch.message_count": len(rows),
            },
        ):
            # Rows written outside any trace (a job without a span) join the batch's trace instead.
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            self._batch_trace = carrier
            try:
                yield
            finally:
                self._batch_trace = {}

    async def backlog(self) -> OutboxStatus:
        return await pool_outbox_status(self.pool)
