"""Evolving the event contract (docs/events.md): tolerant readers, strict producers, open published
schemas, the consumer's rule for unknown types and versions. Pure unit tests: no broker, no database.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from bridge_shared.contracts.matching import PairFormedV1
from bridge_shared.contracts.schemas import DEFAULT_DIR
from bridge_shared.events.envelope import build_event, decode_payload, parse_attributes
from bridge_shared.events.registry import EventPayload, event, upcaster
from bridge_shared.messaging.consumer import EventConsumer, UnknownEventVersion
from bridge_shared.observability.metrics import ServiceMetrics
from tests.shared.events_for_tests import RUN, THING_TOPIC, ThingHappened

PUBLISHED_DIR = DEFAULT_DIR.parent / "published"
ENROLMENT_TOPIC = f"bridge.test.enrolment-{RUN}"


# A family with two versions and an upcaster, as docs/events.md describes a breaking change.
@event(f"test{RUN}.enrolment.made", version=1, topic=ENROLMENT_TOPIC, key="enrolment_id")
class EnrolmentMadeV1(EventPayload):
    enrolment_id: str
    name: str


@event(f"test{RUN}.enrolment.made", version=2, topic=ENROLMENT_TOPIC, key="enrolment_id")
class EnrolmentMadeV2(EventPayload):
    enrolment_id: str
    given_name: str
    family_name: str = ""


@upcaster(EnrolmentMadeV1.event_type, EnrolmentMadeV2.event_type)
def _enrolment_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    given, _, family = data.pop("name").partition(" ")
    return {**data, "given_name": given, "family_name": family}


def _participant(**extra: Any) -> dict[str, Any]:
    return {
        "participant_id": "p1",
        "employee_id": "E1",
        "display_name": "Ada",
        "email": "ada@example.com",
        "region": "emea",
        "department": "eng",
        "seniority_level": 3,
        "timezone": "Europe/Paris",
        **extra,
    }


def _pair_formed(**extra: Any) -> dict[str, Any]:
    return {
        "pair_id": "pair-1",
        "cohort_id": "c1",
        "mentor": _participant(),
        "mentee": _participant(participant_id="p2"),
        "explanation": {"score": 0.9, "breakdown": {"skills": 0.9}, "summary": "good"},
        "formed_at": "2026-01-01T09:00:00Z",
        **extra,
    }


def _record(headers: dict[str, str], value: bytes, key: str = "k") -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=THING_TOPIC,
        partition=0,
        offset=7,
        timestamp=0,
        timestamp_type=0,
        key=key.encode(),
        value=value,
        checksum=None,
        serialized_key_size=len(key),
        serialized_value_size=len(value),
        headers=[(k, v.encode()) for k, v in headers.items()],
    )


def _thing_record(etype: str | None = None, **extra: Any) -> ConsumerRecord[bytes, bytes]:
    evt = build_event(ThingHappened(thing_id="t", seq=1), source="/tests")
    value = json.loads(evt.value)
    value.update(extra)
    headers = dict(evt.headers, ce_type=etype) if etype else evt.headers
    return _record(headers, json.dumps(value).encode())


def _no_database() -> Any:
    raise AssertionError("decoding never touches the database")


def _consumer(*payloads: type[EventPayload]) -> EventConsumer:
    consumer = EventConsumer(
        service="evolution", name=f"c{uuid.uuid4().hex[:6]}", topics=[THING_TOPIC], pool=_no_database
    )

    async def handler(conn: Any, event: Any) -> None:  # pragma: no cover - decode only
        pass

    consumer.on(*payloads)(handler)
    return consumer


def _unknown_count(consumer: EventConsumer, etype: str, action: str) -> float:
    value = ServiceMetrics("evolution").registry.get_sample_value(
        "bridge_events_unknown_total",
        {"service": consumer.service, "consumer": consumer.name, "type": etype, "action": action},
    )
    return value or 0.0


# -- tolerant readers, strict producers ------------------------------------------------------------


def test_reader_ignores_added_fields_at_every_depth_and_still_validates_known_ones() -> None:
    data = _pair_formed(meeting_language="en", mentor=_participant(pronouns="she/her"))
    data["explanation"]["model_version"] = 3
    payload = PairFormedV1.read(data)
    assert payload == PairFormedV1.read(_pair_formed())
    with pytest.raises(ValidationError, match="formed_at"):
        PairFormedV1.read({k: v for k, v in _pair_formed(meeting_language="en").items() if k != "formed_at"})
    with pytest.raises(ValidationError, match="seniority_level"):
        PairFormedV1.read(_pair_formed(mentor=_participant(seniority_level="senior")))


def test_a_recorded_event_with_an_added_field_decodes_as_before() -> None:
    evt = build_event(PairFormedV1.read(_pair_formed()), source="/bridge/matching")
    value = json.loads(evt.value)
    value["meeting_language"] = "en"
    attrs = parse_attributes(evt.headers)
    assert decode_payload(attrs, json.dumps(value).encode()) == decode_payload(attrs, evt.value)


def test_producers_stay_strict_about_what_they_emit() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        PairFormedV1.model_validate(_pair_formed(meeting_language="en"))
    with pytest.raises(ValidationError, match="meeting_language"):
        PairFormedV1(**_pair_formed(meeting_language="en"))


def test_published_schemas_let_an_old_reader_accept_added_fields() -> None:
    files = [*DEFAULT_DIR.glob("*.json"), *PUBLISHED_DIR.glob("*/*.json")]
    assert len(files) >= 62

    def closed(node: Any, where: str) -> list[str]:
        if isinstance(node, dict):
            own = [where] if node.get("additionalProperties") is False else []
            return own + [p for k, v in node.items() for p in closed(v, f"{where}/{k}")]
        if isinstance(node, list):
            return [p for i, v in enumerate(node) for p in closed(v, f"{where}/{i}")]
        return []

    for path in files:
        assert closed(json.loads(path.read_text()), path.name) == []
    # Maps keep their value schema: only `false` is removed.
    formed = json.loads((DEFAULT_DIR / "com.bridge.matching.pair.formed.v1.json").read_text())
    assert formed["$defs"]["MatchExplanation"]["properties"]["breakdown"]["additionalProperties"] == {
        "type": "number"
    }


# -- the consumer's rule for types it does not handle ----------------------------------------------


async def test_an_added_field_reaches_the_handler_unchanged() -> None:
    consumer = _consumer(ThingHappened)
    decoded = await consumer.decode(_thing_record(meeting_language="en"))
    assert decoded is not None and decoded.payload == ThingHappened(thing_id="t", seq=1)


async def test_an_unknown_version_of_a_handled_family_is_dead_lettered_with_the_reason_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    consumer = _consumer(ThingHappened)
    v2 = ThingHappened.event_type.removesuffix(".v1") + ".v2"
    caplog.set_level(logging.WARNING, logger="bridge_shared.messaging.consumer")
    for _ in range(3):
        with pytest.raises(UnknownEventVersion) as err:
            await consumer.decode(_thing_record(v2))
    assert str(err.value).startswith(f"unknown version {v2}; this consumer knows v1")
    assert _unknown_count(consumer, v2, "dead_lettered") == 3
    assert sum(v2 in r.getMessage() for r in caplog.records) == 1, "logged once per type"


async def test_an_unknown_bridge_type_is_skipped_but_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    consumer = _consumer(ThingHappened)
    new_type = f"com.bridge.test{RUN}.thing.vanished.v1"
    foreign = "org.example.audit.logged"
    caplog.set_level(logging.WARNING, logger="bridge_shared.messaging.consumer")
    for _ in range(2):
        assert await consumer.decode(_thing_record(new_type)) is None
        assert await consumer.decode(_thing_record(foreign)) is None
    assert _unknown_count(consumer, new_type, "skipped") == 2
    assert _unknown_count(consumer, foreign, "skipped") == 2
    assert sum(new_type in r.getMessage() for r in caplog.records) == 1


async def test_registered_types_this_consumer_does_not_handle_are_skipped_quietly() -> None:
    consumer = _consumer(EnrolmentMadeV1)
    rec = _thing_record()
    assert await consumer.decode(rec) is None
    assert _unknown_count(consumer, ThingHappened.event_type, "skipped") == 0


async def test_a_registered_version_a_consumer_cannot_read_is_dead_lettered_too() -> None:
    """A consumer of v1 after its producer switched to v2: visible, and replayable once it reads v2."""
    consumer = _consumer(EnrolmentMadeV1)
    v2 = build_event(EnrolmentMadeV2(enrolment_id="e", given_name="Ada"), source="/tests")
    with pytest.raises(UnknownEventVersion, match=f"unknown version {v2.type}; this consumer knows v1"):
        await consumer.decode(_record(v2.headers, v2.value))
    assert _unknown_count(consumer, v2.type, "dead_lettered") == 1


async def test_an_upcaster_lets_a_consumer_of_v2_read_v1() -> None:
    consumer = _consumer(EnrolmentMadeV2)
    v1 = build_event(EnrolmentMadeV1(enrolment_id="e", name="Ada Lovelace"), source="/tests")
    decoded = await consumer.decode(_record(v1.headers, v1.value))
    assert decoded is not None
    assert decoded.type == EnrolmentMadeV2.event_type  # handlers and routing see the type they handle
    assert decoded.payload == EnrolmentMadeV2(enrolment_id="e", given_name="Ada", family_name="Lovelace")
