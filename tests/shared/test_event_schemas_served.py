"""Every event's `ce_dataschema` answers 200 on the service that publishes it, with a schema that
validates the event's payload (no database or broker needed: the route reads no runtime state)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
from bridge_shared.events.envelope import build_event
from bridge_shared.events.examples import example_payload
from bridge_shared.events.registry import spec_for
from bridge_shared.privacy.sealing import subjects_to_seal

COMMITTED = Path(__file__).resolve().parents[2] / "shared" / "schemas" / "events"

APPS: dict[str, tuple[Callable[..., FastAPI], Any]] = {
    "matching": (matching_app, MatchingSettings),
    "sessions": (sessions_app, SessionsSettings),
    "notifications": (notifications_app, NotificationsSettings),
    "reporting": (reporting_app, ReportingSettings),
}
# Each count includes the service's pipeline probe (bridge_shared.contracts.probe).
PUBLISHING = {"matching": 25, "sessions": 32, "notifications": 5, "reporting": 3}


async def _get(app: FastAPI, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as c:
        return await c.get(path)


@pytest.mark.parametrize("service", sorted(APPS))
async def test_dataschema_of_every_published_event_resolves_on_its_producer(service: str) -> None:
    factory, settings_cls = APPS[service]
    settings = settings_cls()
    app = factory(settings)
    outbox = app.state.runtime.outbox
    listing = (await _get(app, "/schemas/events")).json()["schemas"]
    assert len(listing) == PUBLISHING[service]
    for entry in listing:
        spec = spec_for(entry["type"])
        assert spec is not None
        payload = spec.model.model_validate(example_payload(spec.model))
        # v2 types seal personal fields: any 32-byte key per person will do to check the wire shape.
        keys = dict.fromkeys(subjects_to_seal(spec.model, payload.model_dump(mode="json")), bytes(32))
        evt = build_event(payload, source=outbox.source, schema_base_url=outbox.schema_base_url, keys=keys)
        url = evt.headers["ce_dataschema"]
        assert url == entry["dataschema"]
        assert url.startswith(settings.base_url + "/schemas/events/")
        assert evt.headers["ce_partitionkey"] == evt.key == payload.partition_key()
        resp = await _get(app, urlsplit(url).path)
        assert resp.status_code == 200, url
        assert resp.headers["content-type"].startswith("application/schema+json")
        schema = resp.json()
        assert schema["$id"] == url  # the header names the document, and the document says so
        committed = json.loads((COMMITTED / f"{spec.type}.json").read_text())
        assert {k: v for k, v in schema.items() if k != "$id"} == {
            k: v for k, v in committed.items() if k != "$id"
        }
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.Draft202012Validator(schema).validate(json.loads(evt.value))


async def test_a_service_serves_only_its_own_events_schemas() -> None:
    app = sessions_app(SessionsSettings())
    resp = await _get(app, "/schemas/events/com.bridge.matching.pair.formed.v1.json")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["type"].endswith("/problems/not-found")  # a page that resolves (test_problem_pages)
    assert "publishes no event type" in problem["detail"]
    assert (
        await _get(app, "/schemas/events/com.bridge.sessions.relationship.started.v1.json")
    ).status_code == 200


async def test_schema_base_url_is_configurable_for_production() -> None:
    base = "https://events.bridge.acme.com/matching/schemas/"
    app = matching_app(MatchingSettings(events_schema_base_url=base))
    outbox = app.state.runtime.outbox
    spec = spec_for("com.bridge.matching.cohort.created.v1")  # matching writes v1 of this family
    assert spec is not None
    evt = build_event(
        spec.model.model_validate(example_payload(spec.model)),
        source=outbox.source,
        schema_base_url=outbox.schema_base_url,
    )
    assert evt.headers["ce_dataschema"] == base + "com.bridge.matching.cohort.created.v1.json"
    schema = (await _get(app, "/schemas/events/com.bridge.matching.cohort.created.v1.json")).json()
    assert schema["$id"] == evt.headers["ce_dataschema"]
    # and the public base URL moves the default with it
    app = matching_app(MatchingSettings(public_base_url="https://matching.bridge.acme.com"))
    assert app.state.runtime.outbox.schema_base_url == "https://matching.bridge.acme.com/schemas/events"
