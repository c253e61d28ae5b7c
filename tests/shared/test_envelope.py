"""CloudEvents envelope, registry and topic naming (pure unit tests)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bridge_shared.events.envelope import EnvelopeError, build_event, decode_payload, parse_attributes
from bridge_shared.events.registry import EventPayload, event, spec_for, upcaster
from bridge_shared.events.topics import dead_letter_topic, topic_name
from tests.shared.events_for_tests import THING_TOPIC, ThingHappened


def test_build_event_sets_every_cloudevents_attribute_and_keys_by_aggregate() -> None:
    when = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    evt = build_event(
        ThingHappened(thing_id="t-1", seq=3), source="/bridge/tests", subject="thing/t-1", time=when
    )
    h = evt.headers
    assert h["ce_specversion"] == "1.0"
    assert h["ce_source"] == "/bridge/tests"
    assert h["ce_type"] == ThingHappened.event_type
    assert h["ce_type"].startswith("com.bridge.") and h["ce_type"].endswith(".v1")
    assert h["ce_time"] == "2027-03-28T01:30:00Z"
    assert h["ce_subject"] == "thing/t-1"
    assert h["ce_dataschema"].endswith(f"/{ThingHappened.event_type}.json")
    assert h["content-type"] == "application/json"
    assert h["ce_id"] == evt.id
    assert evt.key == "t-1"
    assert evt.topic == THING_TOPIC
    assert json.loads(evt.value) == {"thing_id": "t-1", "seq": 3, "note": ""}


def test_round_trip_through_kafka_headers() -> None:
    evt = build_event(ThingHappened(thing_id="t-2", seq=1), source="/x")
    raw = [(k, v.encode()) for k, v in evt.headers.items()]
    attrs = parse_attributes(raw)
    payload = decode_payload(attrs, evt.value)
    assert payload == ThingHappened(thing_id="t-2", seq=1)
    assert attrs.id == evt.id


def test_extension_headers_are_ignored_and_the_kafka_content_type_header_wins() -> None:
    evt = build_event(ThingHappened(thing_id="t-3", seq=1), source="/x")
    raw = [(k, v.encode()) for k, v in evt.headers.items()]
    raw += [("ce_somethingelse", b"\xff"), ("traceparent", b"00-abc"), ("ce_datacontenttype", b"text/plain")]
    raw.append(("content-type", b"application/json"))
    attrs = parse_attributes(raw)
    assert attrs.datacontenttype == "application/json"
    assert attrs.dataschema == evt.headers["ce_dataschema"]
    assert decode_payload(attrs, evt.value) == ThingHappened(thing_id="t-3", seq=1)
    # Without the Kafka header, the attribute header is what there is (and it is refused).
    only_ce = [(k, v) for k, v in raw if k != "content-type"]
    with pytest.raises(EnvelopeError, match="unsupported datacontenttype 'text/plain'"):
        decode_payload(parse_attributes(only_ce), evt.value)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda h: h.pop("ce_type"), "missing CloudEvents attributes: type"),
        (lambda h: h.update(ce_specversion="0.3"), "invalid CloudEvents attributes"),
        (lambda h: h.update(ce_time="yesterday"), "invalid CloudEvents attributes"),
        (lambda h: h.update(ce_type="com.bridge.nobody.knows.v1"), "unknown event type"),
        (lambda h: h.update({"content-type": "application/avro"}), "unsupported datacontenttype"),
    ],
)
def test_bad_envelopes_are_rejected_with_a_reason(mutate: Any, message: str) -> None:
    evt = build_event(ThingHappened(thing_id="t", seq=1), source="/x")
    headers = dict(evt.headers)
    mutate(headers)
    with pytest.raises(EnvelopeError, match=message):
        decode_payload(parse_attributes(headers), evt.value)


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"ce_time": "2027-03-28T01:30:00.123456+02:00"},
        {"ce_time": "2027-03-28T01:30:00"},  # no zone: the model's parser decides
        {"ce_time": "2027-03-28"},
        {"ce_subject": "thing/t"},
        {"ce_type": "com.bridge.Thing.v1"},
        {"ce_id": ""},
        {"ce_specversion": "1.0.1"},
        {"ce_unknown": "ignored"},
    ],
)
def test_the_quick_attribute_check_agrees_with_the_model(change: dict[str, str]) -> None:
    """parse_attributes checks well-formed attributes by hand; whatever it accepts, the model accepts
    with the same values, and what it refuses goes through the model (which words the error)."""
    from bridge_shared.events.envelope import _AttributesModel

    headers = {**build_event(ThingHappened(thing_id="t", seq=1), source="/x").headers, **change}
    fields = {k[3:]: v for k, v in headers.items() if k.startswith("ce_") and k != "ce_unknown"}
    fields["datacontenttype"] = headers["content-type"]
    fields = {k: v for k, v in fields.items() if k in _AttributesModel.model_fields}
    try:
        expected: Any = _AttributesModel.model_validate(fields).model_dump()
    except Exception:
        expected = None
    try:
        got: Any = dataclasses.asdict(parse_attributes([(k, v.encode()) for k, v in headers.items()]))
    except EnvelopeError:
        got = None
    assert got == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{oops", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"thing_id": "t", "seq": "three"}', "seq"),
        (b'{"thing_id": "t", "surprise": true}', "seq"),
    ],
)
def test_bad_payloads_are_rejected_with_field_level_reasons(body: bytes, message: str) -> None:
    evt = build_event(ThingHappened(thing_id="t", seq=1), source="/x")
    with pytest.raises(EnvelopeError, match=message):
        decode_payload(parse_attributes(evt.headers), body)


def test_fields_the_model_does_not_know_are_ignored_when_reading() -> None:
    """Tolerant reader (docs/events.md): a producer may add optional fields without a new version."""
    evt = build_event(ThingHappened(thing_id="t", seq=1), source="/x")
    body = b'{"thing_id": "t", "seq": 1, "surprise": true}'
    assert decode_payload(parse_attributes(evt.headers), body) == ThingHappened(thing_id="t", seq=1)


def test_upcaster_lets_consumers_read_an_old_version_as_the_new_one() -> None:
    @event("testupcast.widget.made", version=1, topic="bridge.test.widget", key="widget_id")
    class WidgetMadeV1(EventPayload):
        widget_id: str
        colour: str

    @event("testupcast.widget.made", version=2, topic="bridge.test.widget", key="widget_id")
    class WidgetMadeV2(EventPayload):
        widget_id: str
        colours: list[str]

    @upcaster(WidgetMadeV1.event_type, WidgetMadeV2.event_type)
    def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        return {"widget_id": data["widget_id"], "colours": [data["colour"]]}

    old = build_event(WidgetMadeV1(widget_id="w", colour="red"), source="/x")
    assert decode_payload(parse_attributes(old.headers), old.value) == WidgetMadeV2(
        widget_id="w", colours=["red"]
    )
    assert spec_for(WidgetMadeV2.event_type) is not None


def test_registry_refuses_duplicates_and_missing_keys() -> None:
    with pytest.raises(ValueError, match="registered twice"):

        @event(
            ThingHappened.event_type.removeprefix("com.bridge.").removesuffix(".v1"),
            version=1,
            topic=THING_TOPIC,
            key="thing_id",
        )
        class Again(EventPayload):
            thing_id: str

    with pytest.raises(ValueError, match="no key field"):

        @event("testkeys.x.y", version=1, topic=THING_TOPIC, key="nope")
        class NoKey(EventPayload):
            thing_id: str


def test_topic_naming_convention() -> None:
    assert topic_name("matching", "pair") == "bridge.matching.pair"
    assert dead_letter_topic("sessions") == "bridge.dlq.sessions"
    with pytest.raises(ValueError, match="invalid topic part"):
        topic_name("Matching", "pair")


def test_every_contract_event_is_keyed_by_an_aggregate_id_on_its_producers_topic() -> None:
    import bridge_shared.contracts  # noqa: F401
    from bridge_shared.events.registry import all_specs

    for spec in all_specs():
        if not spec.type.startswith("com.bridge.") or spec.topic.startswith("bridge.test."):
            continue
        producer = spec.type.split(".")[2]
        if producer.startswith("test"):
            continue
        assert spec.topic.startswith(f"bridge.{producer}."), spec
        assert spec.key_field.endswith("_id"), spec


async def test_typed_handlers_get_their_payload_typed_and_a_mismatch_is_refused() -> None:
    from bridge_shared.events.envelope import InboundEvent
    from bridge_shared.messaging.consumer import EventConsumer

    evt = build_event(ThingHappened(thing_id="t-9", seq=4), source="/x")
    attrs = parse_attributes([(k, v.encode()) for k, v in evt.headers.items()])
    inbound = InboundEvent(attrs, decode_payload(attrs, evt.value), evt.topic, 0, 0, evt.key)
    assert inbound.payload_as(ThingHappened).seq == 4
    with pytest.raises(TypeError, match="carries ThingHappened, not EventPayload2"):
        inbound.payload_as(type("EventPayload2", (EventPayload,), {}))

    consumer = EventConsumer(service="t", name="typed", topics=[THING_TOPIC], pool=lambda: None)  # type: ignore[arg-type,return-value]
    seen: list[int] = []

    async def on_thing(_conn: Any, thing: ThingHappened) -> None:
        seen.append(thing.seq)

    consumer.handle(ThingHappened, on_thing)
    assert consumer.handled_types == {ThingHappened.event_type}
    await consumer._handlers[ThingHappened.event_type](None, inbound)  # type: ignore[arg-type]
    assert seen == [4]
