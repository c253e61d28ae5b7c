"""Liveness and readiness: /healthz says the process is up; /readyz says whether it can do its work.

/readyz answers 503 "not ready" when the database or the broker is unreachable, or when topics the
service publishes to, consumes or dead-letters to are missing (named in `checks.topics.missing`).
It answers 200 "degraded" when the service works but needs an operator: parked outbox rows
(`bridge-outbox list`), or an outbox whose oldest unpublished row is older than
`readiness_outbox_stall_seconds` (the relay is stuck or far behind; `checks.outbox.last_error` says
why). The reasons are listed in `degraded`. Degraded stays 200 so a Kubernetes readiness probe keeps
the pod in service (taking it out would not publish anything), while SREs see the status and counts.
The outbox figures are read from the table on every call.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bridge_shared.outbox.monitor import pool_outbox_status
from bridge_shared.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


_READINESS = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["ready", "degraded", "not ready"]},
        "checks": {"type": "object", "description": "database, broker, topics, outbox"},
        "degraded": {"type": "array", "items": {"type": "string"}},
    },
}


@router.get(
    "/readyz",
    summary="Readiness: database, broker, topics, outbox (200 ready/degraded, 503 not ready)",
    responses={
        200: {
            "description": "ready, or degraded (see `degraded`)",
            "content": {"application/json": {"schema": _READINESS}},
        },
        503: {
            "description": "not ready: a dependency is down or a topic is missing",
            "content": {"application/json": {"schema": _READINESS}},
        },
    },
)
async def readyz(request: Request) -> JSONResponse:
    runtime: Runtime[Any] = request.app.state.runtime
    checks: dict[str, Any] = {}
    try:
        async with asyncio.timeout(2):
            async with runtime.pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"down: {type(exc).__name__}"
    try:
        async with asyncio.timeout(2):
            ok = await runtime.broker.ping(timeout=2)
        checks["broker"] = "ok" if ok else "down"
    except Exception as exc:
        checks["broker"] = f"down: {type(exc).__name__}"
    topics_ok = True
    if runtime.topic_check is not None and checks["broker"] == "ok":
        try:
            missing = await runtime.topic_check.missing()
            checks["topics"] = "ok" if not missing else {"missing": missing}
            topics_ok = not missing
        except Exception as exc:
            checks["topics"] = f"unknown: {type(exc).__name__}"
            topics_ok = False
    degraded: list[str] = []
    if checks["database"] == "ok":
        try:
            async with asyncio.timeout(2):
                status = await pool_outbox_status(runtime.pool)
            outbox: dict[str, Any] = dict(status)
            if status["parked"]:
                degraded.append(f"{status['parked']} parked outbox row(s)")
            oldest = status["oldest_pending_seconds"] or 0.0
            if oldest > runtime.settings.readiness_outbox_stall_seconds:
                degraded.append(f"outbox stalled: oldest unpublished event is {oldest:.0f} s old")
        except Exception as exc:
            outbox = {"error": f"{type(exc).__name__}"}
        if runtime.relay is not None:
            outbox.update(
                leader=runtime.relay.is_leader,
                epoch=runtime.relay.epoch,
                last_error=runtime.relay.last_error,
            )
        checks["outbox"] = outbox
    ready = checks["database"] == "ok" and checks["broker"] == "ok" and topics_ok
    status_text = "not ready" if not ready else ("degraded" if degraded else "ready")
    body: dict[str, Any] = {"status": status_text, "checks": checks}
    if degraded:
        body["degraded"] = degraded
    return JSONResponse(body, status_code=200 if ready else 503)
