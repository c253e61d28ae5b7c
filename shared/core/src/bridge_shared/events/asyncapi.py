"""The AsyncAPI 3.0 document a subscriber codes against, one per service (`/asyncapi.json`).

FastStream's generator sees one subscriber per consumer group and knows nothing of CloudEvents: it
gives a consumed channel a `null` payload, lists every handled type on every topic of the group,
and documents no headers. This module keeps what it gets right (`asyncapi`, `info`, `servers`) and
writes channels, operations and messages from what the service really does:

- a channel per topic (its contract name; a deployment's `kafka_topic_prefix` goes before it);
- on a published topic, the types the service publishes there (`ServiceDefinition.publishes`);
- on a consumed topic, the types its consumers handle whose contract topic is that topic;
- per message: the payload schema (the committed JSON Schema, `$defs` moved to components), every
  `ce_*` header the producer sets with its meaning (`ce_type` as a const), the Kafka key (the
  aggregate id) as a Kafka message binding, and an example.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from bridge_shared.events.envelope import CONTENT_TYPE, SPECVERSION
from bridge_shared.events.examples import wire_example
from bridge_shared.events.registry import TYPE_PREFIX, EventPayload, EventSpec, spec_for
from bridge_shared.events.schema_routes import event_schema, schema_url
from bridge_shared.http.docs import ASYNCAPI_CSS_URL, ASYNCAPI_JS_URL

if TYPE_CHECKING:
    from bridge_shared.messaging.consumer import EventConsumer

KAFKA_BINDING_VERSION = "0.5.0"
_DEFS_REF = "#/$defs/"
_COMPONENT_REF = "#/components/schemas/"
EXAMPLE_TIME = "2027-03-01T09:30:00Z"
EXAMPLE_ID = "0b9c1a52-4f7e-4a8e-9a51-3d2f6c1e8b7a"


def producer_of(event_type: str) -> str:
    """`com.bridge.matching.pair.formed.v1` -> `matching` (types are named after their producer)."""
    return event_type.removeprefix(TYPE_PREFIX + ".").split(".", 1)[0]


def cloudevents_headers(spec: EventSpec, *, dataschema: str | None = None) -> dict[str, Any]:
    """The Kafka headers of one event type in CloudEvents 1.0 binary mode, as the producer sets them."""
    producer = producer_of(spec.type)
    string: dict[str, Any] = {"type": "string"}
    schema_url_doc: dict[str, Any] = {
        **string,
        "format": "uri",
        "description": "CloudEvents `dataschema`: URL of this type's JSON Schema, served by the producing "
        "service (`GET /schemas/events/<type>.json`); the schema's `$id` equals it.",
    }
    if dataschema is not None:
        schema_url_doc["const"] = dataschema
    return {
        "type": "object",
        "description": f"CloudEvents 1.0 Kafka binary mode: attributes as `ce_*` headers (UTF-8), the "
        f"payload as the record value. Key: the `{spec.key_field}` of the payload.",
        "required": [
            "ce_specversion",
            "ce_id",
            "ce_source",
            "ce_type",
            "ce_time",
            "ce_dataschema",
            "ce_partitionkey",
            "content-type",
        ],
        "properties": {
            "ce_specversion": {**string, "const": SPECVERSION, "description": "CloudEvents spec version."},
            "ce_id": {
                **string,
                "description": "Unique event id (a UUID). A redelivered event keeps its id: "
                "deduplicate on it.",
            },
            "ce_source": {
                **string,
                "description": f"The producing service instance, `/bridge/<service name>` "
                f"(e.g. `/bridge/{producer}`).",
                "examples": [f"/bridge/{producer}"],
            },
            "ce_type": {
                **string,
                "const": spec.type,
                "description": "The event type on the wire "
                "(`com.bridge.<producer>.<aggregate>.<verb>.v<major>`); dispatch on it.",
            },
            "ce_time": {
                **string,
                "format": "date-time",
                "description": "When the state change happened (RFC 3339, UTC, `Z`).",
            },
            "ce_subject": {
                **string,
                "description": "Optional: what the event is about within the source (e.g. `pair/<id>`).",
            },
            "ce_dataschema": schema_url_doc,
            "ce_partitionkey": {
                **string,
                "description": f"CloudEvents partitioning extension: the aggregate id (`{spec.key_field}`), "
                "equal to the Kafka record key. Events of one aggregate are in order.",
            },
            "content-type": {
                **string,
                "const": CONTENT_TYPE,
                "description": "CloudEvents `datacontenttype`.",
            },
            "traceparent": {**string, "description": "Optional: W3C trace context of the producing request."},
            "tracestate": {**string, "description": "Optional: W3C trace state."},
        },
    }


def _hoist(schema: dict[str, Any], schemas: dict[str, Any], name: str) -> dict[str, Any]:
    """Moves `$defs` into components.schemas and rewrites refs to point there."""

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: (
                    _COMPONENT_REF + v.removeprefix(_DEFS_REF)
                    if k == "$ref" and isinstance(v, str) and v.startswith(_DEFS_REF)
                    else rewrite(v)
                )
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    for def_name, definition in schema.get("$defs", {}).items():
        schemas.setdefault(def_name, rewrite(definition))
    body = {k: v for k, v in schema.items() if k not in {"$defs", "$id", "$schema"}}
    schemas[name] = rewrite(body)
    return {"$ref": _COMPONENT_REF + name}


def _payload_schema(spec: EventSpec) -> dict[str, Any]:
    committed = event_schema(spec.type)
    if committed is not None:
        return committed
    # A type registered outside the contract (tests): the model's own schema.
    return spec.model.model_json_schema(mode="serialization")


def _message(spec: EventSpec, schemas: dict[str, Any], *, dataschema: str | None) -> dict[str, Any]:
    model = spec.model
    producer = producer_of(spec.type)
    doc = str(model.__dict__.get("__doc__") or "").strip()
    what = " ".join(spec.type.split(".")[3:-1]).replace("_", " ")  # "pair formed"
    summary = doc.splitlines()[0] if doc else f"{producer}: {what} (v{spec.version})"
    example = wire_example(model)
    headers_example = {
        "ce_specversion": SPECVERSION,
        "ce_id": EXAMPLE_ID,
        "ce_source": f"/bridge/{producer}",
        "ce_type": spec.type,
        "ce_time": EXAMPLE_TIME,
        "ce_dataschema": dataschema or spec.dataschema,
        "ce_partitionkey": str(example[spec.key_field]),
        "content-type": CONTENT_TYPE,
    }
    message: dict[str, Any] = {
        "name": spec.type,
        "title": model.__name__,
        "summary": summary,
        "description": f"CloudEvents type `{spec.type}` on topic `{spec.topic}`, produced by {producer}, "
        f"keyed by `{spec.key_field}`.",
        "contentType": CONTENT_TYPE,
        "headers": cloudevents_headers(spec, dataschema=dataschema),
        "payload": _hoist(_payload_schema(spec), schemas, model.__name__),
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": f"The aggregate id: the payload's `{spec.key_field}`.",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "examples": [{"name": "example", "headers": headers_example, "payload": example}],
        "x-cloudevents-type": spec.type,
        "x-kafka-topic": spec.topic,
        "x-kafka-key": spec.key_field,
        "x-producer": producer,
    }
    if dataschema is not None:
        message["externalDocs"] = {"description": "JSON Schema of the payload", "url": dataschema}
    return message


def _message_id(event_type: str) -> str:
    return event_type.replace(".", "_")


def _consumed_types(consumer: EventConsumer) -> list[tuple[str, str, list[EventSpec]]]:
    """(consumer name, contract topic, handled specs on that topic) for one EventConsumer."""
    prefix: str = consumer.topic_prefix
    handled = [s for t in sorted(consumer._handlers) if (s := spec_for(t)) is not None]
    out = []
    for topic in consumer.topics:
        contract_topic = topic.removeprefix(prefix)
        specs = [s for s in handled if s.topic == contract_topic]
        out.append((consumer.name, contract_topic, specs))
    return out


def service_document(
    generated: dict[str, Any],
    *,
    service: str,
    publishes: Sequence[type[EventPayload]],
    consumers: Iterable[EventConsumer],
    schema_base_url: str,
) -> dict[str, Any]:
    """The service's AsyncAPI document: `generated` (FastStream's) with channels, operations and
    messages rebuilt from `publishes` and the `consumers` (EventConsumer) handlers."""
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    server_refs = [{"$ref": f"#/servers/{name}"} for name in generated.get("servers", {})]

    def channel(topic: str) -> dict[str, Any]:
        if topic not in channels:
            channels[topic] = {
                "address": topic,
                "title": topic,
                "description": f"Kafka topic `{topic}` (a deployment's `kafka_topic_prefix` goes before "
                "the name). Records are CloudEvents 1.0 in binary mode, keyed by aggregate id.",
                "messages": {},
                "bindings": {"kafka": {"topic": topic, "bindingVersion": KAFKA_BINDING_VERSION}},
            }
            if server_refs:
                channels[topic]["servers"] = server_refs
        result: dict[str, Any] = channels[topic]
        return result

    def add_message(topic: str, spec: EventSpec, *, dataschema: str | None) -> dict[str, str]:
        mid = _message_id(spec.type)
        if mid not in messages or dataschema is not None:
            messages[mid] = _message(spec, schemas, dataschema=dataschema)
        channel(topic)["messages"][mid] = {"$ref": f"#/components/messages/{mid}"}
        return {"$ref": f"#/channels/{topic}/messages/{mid}"}

    published: dict[str, list[EventSpec]] = {}
    for model in publishes:
        spec = spec_for(model.event_type)
        if spec is not None:
            published.setdefault(spec.topic, []).append(spec)
    for topic, specs in sorted(published.items()):
        refs = [
            add_message(topic, s, dataschema=schema_url(schema_base_url, s.type))
            for s in sorted(specs, key=lambda s: s.type)
        ]
        operations[f"{service}.publish.{topic}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{topic}"},
            "title": f"{service} publishes to {topic}",
            "summary": f"Published by {service} through its transactional outbox, in commit order per key.",
            "messages": refs,
        }

    for consumer in consumers:
        for name, topic, specs in _consumed_types(consumer):
            refs = [add_message(topic, s, dataschema=None) for s in specs]
            operation: dict[str, Any] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{topic}"},
                "title": f"{service}.{name} consumes {topic}",
                "summary": f"Consumer group `{consumer.group_id}`: handles "
                + (", ".join(f"`{s.type}`" for s in specs) or "no type")
                + "; other types on the topic are skipped.",
                "messages": refs,
                "bindings": {
                    "kafka": {
                        "groupId": {"type": "string", "enum": [consumer.group_id]},
                        "bindingVersion": KAFKA_BINDING_VERSION,
                    }
                },
            }
            operations[f"{service}.{name}.receive.{topic}"] = operation

    document: dict[str, Any] = {
        "asyncapi": generated.get("asyncapi", "3.0.0"),
        "info": generated.get("info", {"title": f"Bridge {service} events", "version": "1.0.0"}),
        "defaultContentType": CONTENT_TYPE,
    }
    if "servers" in generated:
        document["servers"] = generated["servers"]
    document["channels"] = dict(sorted(channels.items()))
    document["operations"] = operations
    document["components"] = {
        "messages": dict(sorted(messages.items())),
        "schemas": dict(sorted(schemas.items())),
    }
    return document


def asyncapi_html(document: dict[str, Any]) -> str:
    """The AsyncAPI React component (standalone, served same-origin by bridge_shared.http.docs)
    rendering `document`."""
    title = escape(str(document.get("info", {}).get("title", "AsyncAPI")))
    config = {
        "schema": document,
        "config": {
            "show": {"sidebar": True, "info": True, "servers": True, "operations": True, "messages": True},
            "expand": {"messageExamples": True},
        },
    }
    payload = json.dumps(config).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html>
<head>
  <title>{title} AsyncAPI</title>
  <link rel="stylesheet" href="{ASYNCAPI_CSS_URL}">
</head>
<body>
  <div id="asyncapi"></div>
  <script src="{ASYNCAPI_JS_URL}"></script>
  <script>window.AsyncApiStandalone.render({payload}, document.getElementById("asyncapi"));</script>
</body>
</html>"""
