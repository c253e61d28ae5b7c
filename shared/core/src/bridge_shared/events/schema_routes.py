"""Serves the JSON Schema of a service's own events where their `ce_dataschema` points.

Each producing service answers `GET /schemas/events/{type}.json` for the types it publishes, without
authentication (the contract is public). The document is the committed one (`shared/schemas/events/`,
rendered from the same model by `bridge-schemas`) with `$id` set to the URL it is served from, so an
event's `ce_dataschema` equals the `$id` of the schema it names.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from bridge_shared.contracts.schemas import render_all
from bridge_shared.errors import Problem
from bridge_shared.events.registry import EventPayload, EventSpec, spec_for
from bridge_shared.settings import ServiceSettings

SCHEMA_PATH = "/schemas/events"
SCHEMA_MEDIA_TYPE = "application/schema+json"


def schema_base_url(settings: ServiceSettings) -> str:
    """The base of every `ce_dataschema` this service sets (no trailing slash)."""
    base = settings.events_schema_base_url or f"{settings.base_url.rstrip('/')}{SCHEMA_PATH}"
    return base.rstrip("/")


def schema_url(base_url: str, event_type: str) -> str:
    return f"{base_url.rstrip('/')}/{event_type}.json"


@functools.cache
def _committed() -> dict[str, dict[str, Any]]:
    # What `bridge-schemas` writes to shared/schemas/events/ (a test keeps the two equal); rendered
    # from the models here because a service's image carries the code, not the repository's files.
    return {name.removesuffix(".json"): json.loads(text) for name, text in render_all().items()}


def event_schema(event_type: str, *, schema_id: str | None = None) -> dict[str, Any] | None:
    """The committed JSON Schema of a contract event type, `$id` replaced when given; None if unknown."""
    schema = _committed().get(event_type)
    if schema is None:
        return None
    return {**schema, "$id": schema_id} if schema_id else dict(schema)


def schema_router(publishes: Sequence[type[EventPayload]], base_url: str) -> APIRouter:
    """`GET /schemas/events/{type}.json` (404 for a type this service does not publish) and the list."""
    specs: dict[str, EventSpec] = {}
    for model in publishes:
        spec = spec_for(model.event_type)
        if spec is not None:
            specs[spec.type] = spec
    # Outside the OpenAPI document: that one lists the authenticated API (the AsyncAPI document and
    # the events catalogue link these URLs).
    router = APIRouter(tags=["event schemas"], include_in_schema=False)

    @router.get(SCHEMA_PATH, summary="The event types this service publishes, with their schema URLs")
    async def list_schemas() -> dict[str, Any]:
        return {
            "schemas": [
                {"type": t, "topic": s.topic, "key": s.key_field, "dataschema": schema_url(base_url, t)}
                for t, s in sorted(specs.items())
            ]
        }

    @router.get(
        SCHEMA_PATH + "/{event_type}.json",
        summary="The JSON Schema of one event type this service publishes (its events' dataschema)",
        responses={404: {"description": "not an event type this service publishes"}},
    )
    async def get_schema(event_type: str) -> JSONResponse:
        spec = specs.get(event_type)
        schema = event_schema(spec.type, schema_id=schema_url(base_url, spec.type)) if spec else None
        if schema is None:
            raise Problem(
                404,
                "Not found",
                f"This service publishes no event type {event_type!r}; {SCHEMA_PATH} lists the ones it does.",
            )
        return JSONResponse(
            schema,
            media_type=SCHEMA_MEDIA_TYPE,
            headers={"Cache-Control": "public, max-age=300"},
        )

    return router
