"""Event types that exist only in tests, each on a topic of its own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from bridge_shared.contracts.matching import MatchExplanation, PairFormedV1, ParticipantRef
from bridge_shared.events.envelope import OutgoingEvent, build_event
from bridge_shared.events.registry import EventPayload, event
from bridge_shared.privacy.sealing import subjects_to_seal
from bridge_shared.privacy.vault import VAULT

RUN = uuid.uuid4().hex[:8]
THING_TOPIC = f"bridge.test.thing-{RUN}"


@event(f"test{RUN}.thing.happened", version=1, topic=THING_TOPIC, key="thing_id")
class ThingHappened(EventPayload):
    thing_id: str
    seq: int
    note: str = ""


# The consumer integration tests use a new group each, started at the topic's end
# (harness.start_group_at_end): on a topic of their own, they never wade through the thousands of
# records other tests put on THING_TOPIC, nor through each other's.
CONSUMER_TOPIC = f"bridge.test.consumer-{RUN}"


@event(f"test{RUN}.consumed_thing.happened", version=1, topic=CONSUMER_TOPIC, key="thing_id")
class ConsumedThingHappened(EventPayload):
    thing_id: str
    seq: int
    note: str = ""


def person(tag: str, timezone: str = "UTC") -> ParticipantRef:
    """A participant as matching's events describe them."""
    return ParticipantRef(
        participant_id=f"P-{tag}",
        employee_id=f"E-{tag}",
        display_name=f"Person {tag}",
        email=f"{tag.lower()}@bridge.example",
        region="emea",
        department="Engineering",
        seniority_level=3,
        timezone=timezone,
    )


def pair_formed(pair_id: str, cohort_id: str = "C-test") -> PairFormedV1:
    """A `matching.pair.formed` event for a pair of two made-up people."""
    return PairFormedV1(
        pair_id=pair_id,
        cohort_id=cohort_id,
        mentor=person(f"{pair_id}-M"),
        mentee=person(f"{pair_id}-L"),
        explanation=MatchExplanation(score=0.9, breakdown={}, summary="test"),
        formed_at=datetime.now(UTC),
    )


async def sealed_event(payload: EventPayload, *, source: str, dsn: str) -> OutgoingEvent:
    """`payload` built as its producer's Outbox would: personal fields sealed under keys from the key
    vault (created there on first use). `dsn`: any role that may use the vault (the admin DSN)."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            data = payload.model_dump(mode="json")
            keys = await VAULT.keys_for_sealing(conn, subjects_to_seal(type(payload), data))
        return build_event(payload, source=source, keys=keys)
    finally:
        await conn.close()


async def erase_keys(participant_ids: list[str], *, dsn: str) -> None:
    """Destroys people's keys in the vault, as matching does when it erases them."""
    conn = await asyncpg.connect(dsn)
    try:
        await VAULT.destroy(conn, participant_ids)
    finally:
        await conn.close()
