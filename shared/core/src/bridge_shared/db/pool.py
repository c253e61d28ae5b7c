"""One asyncpg pool per service, traced by OpenTelemetry."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from pydantic_core import from_json

_instrumented = False


def _instrument_once() -> None:
    global _instrumented
    if not _instrumented:
        AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]
        _instrumented = True


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    # JSON in and out as Python objects, so repositories never hand-encode. Read with pydantic-core's
    # parser (a tenth of json.loads's time on an outbox row's headers, which the relay reads for
    # every event); PostgreSQL only ever returns valid JSON, which both parse alike.
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=from_json, schema="pg_catalog")


async def create_pool(dsn: str, *, schema: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    _instrument_once()
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings={"search_path": schema, "application_name": f"bridge-{schema}"},
    )
    assert pool is not None
    return pool
