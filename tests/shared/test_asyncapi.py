"""Each service's /asyncapi.json is a document a subscriber can code against: every channel lists
exactly the types published or handled on that topic, each with its payload schema, its CloudEvents
headers (`ce_type` a const) and its Kafka key; every reference resolves; the examples validate.

The document is checked structurally here (offline, no broker or database). The official validator
runs too when `BRIDGE_ASYNCAPI_CLI=1` (it downloads @asyncapi/cli through npx on first use, ~2 min):
`BRIDGE_ASYNCAPI_CLI=1 .tools/bin/uv run pytest tests/shared/test_asyncapi.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI

from bridge_matching.main import create_app as matching_app
from bridge_matching.settings import MatchingSettings
from bridge_notifications.main import create_app as notifications_app
from bridge_notifications.settings import NotificationsSettings
from bridge_reporting.main import create_app as reporting_app
from bridge_reporting.settings import ReportingSettings
from bridge_sessions.main import create_app as sessions_app
from bridge_sessions.settings import SessionsSettings
from bridge_shared.events.registry import spec_for

APPS: dict[str, tuple[Callable[..., FastAPI], Any]] = {
    "matching": (matching_app, MatchingSettings),
    "sessions": (sessions_app, SessionsSettings),
    "notifications": (notifications_app, NotificationsSettings),
    "reporting": (reporting_app, ReportingSettings),
}
CE_HEADERS = {
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "ce_subject",
    "ce_dataschema",
    "ce_partitionkey",
    "content-type",
}


async def _document(service: str) -> tuple[FastAPI, dict[str, Any]]:
    factory, settings_cls = APPS[service]
    app = factory(settings_cls())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as c:
        doc = (await c.get("/asyncapi.json")).json()
        page = await c.get("/asyncapi")
    assert page.status_code == 200 and "AsyncApiStandalone.render" in page.text
    return app, doc


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolved {ref}"
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


@pytest.mark.parametrize("service", sorted(APPS))
async def test_every_channel_lists_exactly_the_types_on_its_topic(service: str) -> None:
    app, doc = await _document(service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as c:
        published = {e["type"] for e in (await c.get("/schemas/events")).json()["schemas"]}
    expected: dict[str, set[str]] = {}
    for t in published:
        spec = spec_for(t)
        assert spec is not None
        expected.setdefault(spec.topic, set()).add(t)
    for consumer in app.state.runtime.extras["consumers"]:
        for topic in consumer.topics:
            topic = topic.removeprefix(consumer.topic_prefix)
            handled = {t for t in consumer._handlers if (s := spec_for(t)) is not None and s.topic == topic}
            expected.setdefault(topic, set()).update(handled)
    got = {
        topic: {_resolve(doc, m["$ref"])["name"] for m in channel["messages"].values()}
        for topic, channel in doc["channels"].items()
    }
    assert got == expected
    for topic, types in got.items():
        assert types, f"{service}: channel {topic} lists no message"
        assert all(spec_for(t).topic == topic for t in types)  # type: ignore[union-attr]


async def test_known_consumed_channels() -> None:
    # The measured defect: reporting listed the same 30 types on each of its six channels.
    _, sessions = await _document("sessions")
    names = {
        t: sorted(_resolve(sessions, m["$ref"])["name"] for m in ch["messages"].values())
        for t, ch in sessions["channels"].items()
    }
    assert names["bridge.matching.pair"] == [
        "com.bridge.matching.pair.dissolved.v1",
        "com.bridge.matching.pair.dissolved.v2",
        "com.bridge.matching.pair.formed.v1",
        "com.bridge.matching.pair.formed.v2",
    ]
    assert names["bridge.matching.cohort"] == ["com.bridge.matching.cohort.created.v1"]
    _, reporting = await _document("reporting")
    # Nine event topics (v1 and v2 of each family it projects; the directory's person topic since
    # issue 19; matching's and sessions' circle topics since issue 15), matching's privacy requests it
    # answers, its own privacy answers, and its pipeline probe (sent and consumed back: one message).
    assert len(reporting["channels"]) == 12
    counts = sorted(len(ch["messages"]) for ch in reporting["channels"].values())
    # pair: + pair.flagged; circles: 3 from matching, 6 from sessions
    assert counts == [1, 2, 2, 2, 2, 2, 3, 5, 6, 6, 7, 24], counts


@pytest.mark.parametrize("service", sorted(APPS))
async def test_every_message_documents_headers_key_payload_and_a_valid_example(service: str) -> None:
    _, doc = await _document(service)
    assert doc["asyncapi"].startswith("3.")
    for ref in _refs(doc):
        _resolve(doc, ref)
    for op_id, op in doc["operations"].items():
        assert op["action"] in {"send", "receive"}
        channel = _resolve(doc, op["channel"]["$ref"])
        assert op["messages"], op_id
        for m in op["messages"]:
            assert m["$ref"].startswith(op["channel"]["$ref"] + "/messages/")
        assert channel["address"]
    for mid, message in doc["components"]["messages"].items():
        spec = spec_for(message["name"])
        assert spec is not None, mid
        headers = message["headers"]
        assert set(headers["properties"]) >= CE_HEADERS
        assert headers["properties"]["ce_type"]["const"] == spec.type
        assert set(headers["required"]) == CE_HEADERS - {"ce_subject"}
        for name in CE_HEADERS:
            assert headers["properties"][name]["description"]
        key = message["bindings"]["kafka"]["key"]
        assert key["type"] == "string" and spec.key_field in key["description"]
        assert message["payload"] is not None and "$ref" in message["payload"]
        payload_schema = _resolve(doc, message["payload"]["$ref"])
        assert payload_schema["properties"]
        # the example validates against the document's own schemas (refs resolved within the doc)
        example = message["examples"][0]
        validator = jsonschema.Draft202012Validator(
            {"$ref": message["payload"]["$ref"], "components": doc["components"]}
        )
        validator.validate(example["payload"])
        jsonschema.Draft202012Validator({**headers, "components": doc["components"]}).validate(
            example["headers"]
        )
        assert example["headers"]["ce_partitionkey"] == str(example["payload"][spec.key_field])
        if message.get("externalDocs"):  # published by this service: its own schema URL
            assert headers["properties"]["ce_dataschema"]["const"] == message["externalDocs"]["url"]


@pytest.mark.skipif(
    os.environ.get("BRIDGE_ASYNCAPI_CLI") != "1" or shutil.which("npx") is None,
    reason="set BRIDGE_ASYNCAPI_CLI=1 (needs npx and the npm registry on first use)",
)
@pytest.mark.parametrize("service", sorted(APPS))
def test_asyncapi_cli_validates_the_document(service: str, tmp_path: Path) -> None:
    import asyncio

    _, doc = asyncio.run(_document(service))
    path = tmp_path / f"{service}.json"
    path.write_text(json.dumps(doc))
    result = subprocess.run(
        ["npx", "-y", "@asyncapi/cli", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout
