"""The consumer's offset bookkeeping around rebalances, with a stand-in Kafka client (no broker).

The real group rebalance is exercised in test_consumer_rebalance; these pin the edge cases that are
hard to provoke there: a commit refused because the group moved on, work abandoned at the revocation
timeout, records of partitions that are no longer ours, and partial progress before an outage.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError
from aiokafka.structs import ConsumerRecord

from bridge_shared.messaging import consumer as consumer_module
from bridge_shared.messaging.consumer import EventConsumer, InfrastructureUnavailable, Progress

TOPIC = "bridge.test.offsets"
P0 = TopicPartition(TOPIC, 0)
P1 = TopicPartition(TOPIC, 1)


class FakeKafka(AIOKafkaConsumer):
    """Only what the consumer uses: assignment(), commit(offsets), seek()."""

    def __init__(self, assigned: set[TopicPartition], fail_commit: Exception | None = None) -> None:
        self.assigned = set(assigned)
        self.fail_commit = fail_commit
        self.commits: list[dict[TopicPartition, int]] = []
        self.seeks: list[tuple[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    async def commit(self, offsets: Any = None) -> None:
        if self.fail_commit is not None:
            raise self.fail_commit
        self.commits.append(dict(offsets))

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition, offset))


def _rec(partition: int, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(TOPIC, partition, offset, 0, 0, b"k", b"{}", None, 1, 2, [])


def _consumer(revoke_timeout: float = 5.0) -> EventConsumer:
    return EventConsumer(
        service="offsets",
        name="c",
        topics=[TOPIC],
        pool=lambda: None,  # type: ignore[arg-type,return-value]
        backoff_max=0.01,
        revoke_timeout=revoke_timeout,
    )


def test_progress_commits_up_to_the_first_record_without_effect_per_partition() -> None:
    records = [_rec(0, 10), _rec(1, 5), _rec(0, 11), _rec(0, 13), _rec(1, 6)]
    progress = Progress(records)
    assert progress.committable() == {}
    progress.done(records[0])
    progress.done(records[3])  # done out of order: offset 11 is not, so 13 must not be committed
    progress.done(records[4])
    assert progress.committable() == {P0: 11}
    assert progress.unfinished() == {P0: 11, P1: 5}
    progress.done(records[1])
    progress.done(records[2])
    assert progress.committable() == {P0: 14, P1: 7}  # past the last record (offsets may have gaps)
    assert progress.unfinished() == {}


async def test_a_commit_refused_after_a_rebalance_is_logged_not_raised_and_not_retried() -> None:
    consumer = _consumer()
    kafka = FakeKafka({P0}, fail_commit=CommitFailedError("group rebalanced"))
    handled: list[int] = []

    async def work(records: list[Any], progress: Progress) -> None:
        for rec in records:
            handled.append(rec.offset)
            progress.done(rec)

    await consumer._deliver(kafka, [_rec(0, 1), _rec(0, 2)], work)
    assert handled == [1, 2]
    assert consumer.rebalances.commit_failures == 1
    assert kafka.seeks == []  # done records are never rewound: the inbox absorbs the owner's re-read
    kafka.fail_commit = None
    await consumer._deliver(kafka, [_rec(0, 3)], work)
    assert kafka.commits == [{P0: 4}]


async def test_a_commit_that_never_returns_is_given_up_and_the_consumer_goes_on(monkeypatch: Any) -> None:
    """A commit caught by the broker's death can wait on the group coordinator for good: the
    consumer gives up on it after COMMIT_TIMEOUT_SECONDS (the records are read again, the inbox
    absorbs them) instead of never consuming again."""
    monkeypatch.setattr(consumer_module, "COMMIT_TIMEOUT_SECONDS", 0.2)
    consumer = _consumer()
    kafka = FakeKafka({P0})
    never = asyncio.Event()

    async def stuck(offsets: Any = None) -> None:
        await never.wait()

    kafka.commit = stuck  # type: ignore[method-assign]
    handled: list[int] = []

    async def work(records: list[Any], progress: Progress) -> None:
        for rec in records:
            handled.append(rec.offset)
            progress.done(rec)

    async with asyncio.timeout(5):
        await consumer._deliver(kafka, [_rec(0, 1)], work)
        await consumer._deliver(kafka, [_rec(0, 2)], work)
    assert handled == [1, 2]
    assert consumer.rebalances.commit_failures == 2


async def test_records_of_partitions_no_longer_assigned_or_arriving_during_a_revocation_are_left() -> None:
    consumer = _consumer()
    kafka = FakeKafka({P0})
    handled: list[tuple[int, int]] = []

    async def work(records: list[Any], progress: Progress) -> None:
        for rec in records:
            handled.append((rec.partition, rec.offset))
            progress.done(rec)

    await consumer._deliver(kafka, [_rec(0, 1), _rec(1, 1)], work)
    assert handled == [(0, 1)]
    assert kafka.commits == [{P0: 2}]
    await consumer._on_partitions_revoked({P0})
    await consumer._deliver(kafka, [_rec(0, 2)], work)  # fetched before the revocation began
    assert handled == [(0, 1)]
    assert consumer.rebalances.records_left_for_owner == 2
    consumer._on_partitions_assigned({P0})
    await consumer._deliver(kafka, [_rec(0, 2)], work)
    assert handled == [(0, 1), (0, 2)]


async def test_revocation_waits_for_in_flight_work_and_its_commit() -> None:
    consumer = _consumer()
    kafka = FakeKafka({P0})
    release = asyncio.Event()
    started = asyncio.Event()

    async def work(records: list[Any], progress: Progress) -> None:
        started.set()
        await release.wait()
        for rec in records:
            progress.done(rec)

    delivery = asyncio.create_task(consumer._deliver(kafka, [_rec(0, 7), _rec(0, 8)], work))
    await started.wait()
    revocation = asyncio.create_task(consumer._on_partitions_revoked({P0}))
    await asyncio.sleep(0.05)
    assert not revocation.done(), "the revocation must wait for the in-flight work"
    release.set()
    await revocation
    assert kafka.commits == [{P0: 9}], "offsets are committed before the revocation returns"
    await delivery
    assert consumer.rebalances.waited_for_in_flight == 1 and consumer.rebalances.abandoned == 0


async def test_work_outlasting_the_revocation_timeout_is_cancelled_and_only_its_done_part_committed() -> None:
    consumer = _consumer(revoke_timeout=0.1)
    kafka = FakeKafka({P0})
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def work(records: list[Any], progress: Progress) -> None:
        progress.done(records[0])  # the first record's transaction committed
        started.set()
        try:
            await asyncio.sleep(60)  # the second one's is stuck
        except asyncio.CancelledError:
            cancelled.set()  # its transaction rolls back
            raise
        progress.done(records[1])

    delivery = asyncio.create_task(consumer._deliver(kafka, [_rec(0, 1), _rec(0, 2)], work))
    await started.wait()
    async with asyncio.timeout(2):
        await consumer._on_partitions_revoked({P0})
    assert cancelled.is_set()
    assert kafka.commits == [{P0: 2}], "only the record whose effect committed"
    assert kafka.seeks == []
    assert consumer.rebalances.abandoned == 1
    await delivery  # returns quietly: abandoning is not an error of the subscriber


async def test_an_outage_commits_what_is_done_and_rewinds_once_to_the_first_record_not_done() -> None:
    consumer = _consumer()
    kafka = FakeKafka({P0, P1})

    async def work(records: list[Any], progress: Progress) -> None:
        progress.done(records[0])
        progress.done(records[2])
        raise InfrastructureUnavailable("database unreachable")

    await consumer._deliver(kafka, [_rec(0, 1), _rec(0, 2), _rec(1, 1)], work)
    assert kafka.commits == [{P0: 2, P1: 2}]
    assert kafka.seeks == [(P0, 2)]


def _record(offset: int) -> ConsumerRecord[bytes, bytes]:
    headers = [("correlation_id", f"c{offset}".encode()), ("ce_id", f"e{offset}".encode())]
    return ConsumerRecord(TOPIC, 0, offset, 1_700_000_000_000 + offset, 0, b"k", b"{}", None, 1, 2, headers)  # type: ignore[arg-type]  # aiokafka's record generics


async def test_a_large_batch_reaches_the_handler_whole_with_trace_links_from_its_last_records() -> None:
    """FastStream's parser turns each record it is given into a header dict, baggage and a trace
    link; the consumer gives it only the last TRACE_LINKS_PER_BATCH (OpenTelemetry keeps a span's last
    128 links anyway), and the handler still reads every record."""
    from faststream.kafka.message import KafkaMessage
    from faststream.kafka.parser import AioKafkaBatchParser

    from bridge_shared.messaging.consumer import TRACE_LINKS_PER_BATCH, _batch_parser

    default = AioKafkaBatchParser(msg_class=KafkaMessage, regex=None).parse_batch
    records = tuple(_record(o) for o in range(500))
    msg = await _batch_parser(records, default)
    assert msg.raw_message == records
    assert [h["correlation_id"] for h in msg.batch_headers] == [f"c{o}" for o in range(372, 500)]
    assert len(msg.batch_headers) == TRACE_LINKS_PER_BATCH
    assert msg.message_id == f"0-499-{records[0].timestamp}"
    small = records[:10]
    msg = await _batch_parser(small, default)
    assert msg.raw_message == small
    assert len(msg.batch_headers) == 10
