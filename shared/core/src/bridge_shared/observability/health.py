"""Liveness and readiness: /healthz says the process is up; /readyz says whether it can do its work.

/readyz answers 503 "not ready" when the database or the broker is unreachable, or when topics the
service publishes to, consumes or dead-letters to are missing (named in `checks.topics.missing`).
It answers 200 "degraded" when the service works but needs an operator: parked outbox rows
(`bridge-outbox list`), or an outbox whose oldest unpublished row is older than
`readiness_outbox_stall_seconds` (the relay is stuck or far behind; `checks.outbox.last_error` says
why). The reasons are listed in `degraded`. Degraded stays 200 so a Kubernetes readiness probe keeps
the pod in service (taking it out would not publish anything), while SREs see the status and counts.
The outbox figures are read from the table on every call.

Only the status (and the status code) is shown to anyone: the checks and the degraded reasons (which
name errors, topics and counts) are shown to a caller with a valid bearer token of role `hr_admin` or
`service` (docs/security-http.md).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bridge_shared.auth.principal import Role
from bridge_shared.auth.tokens import InvalidToken, JwksUnavailable, TokenValidator
from bridge_shared.outbox.monitor import pool_outbox_status
from bridge_shared.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


_READINESS = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"type": "string", "enum": ["ready", "degraded", "not ready"]},
        "checks": {
            "type": "object",
            "description": "database, broker, topics, outbox: only for an `hr_admin` or `service` token",
        },
        "degraded": {
            "type": "array",
            "items": {"type": "string"},
            "description": "why degraded: only for an `hr_admin` or `service` token",
        },
    },
}


async def _operator(request: Request) -> bool:
    """Whether the caller sent a valid bearer token of an operator (hr_admin or service)."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials:
        return False
    validator: TokenValidator = request.app.state.token_validator
    try:
        principal = await validator.validate(credentials.strip())
    except (InvalidToken, JwksUnavailable):
        return False
    return Role.HR_ADMIN in principal.roles or Role.SERVICE in principal.roles


@router.get(
    "/readyz",
    summary="Readiness: database, broker, topics, outbox (200 ready/degraded, 503 not ready)",
    description=(
        "Anyone sees the status; the checks and the degraded reasons are shown to a caller with a "
        "valid bearer token of role `hr_admin` or `service` (an invalid or missing token is not "
        "refused: it gets the status only)."
    ),
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
    readiness = await assess(runtime)
    body: dict[str, Any] = {"status": readiness.status}
    if await _operator(request):
        body["checks"] = readiness.checks
        if readiness.degraded:
            body["degraded"] = readiness.degraded
    return JSONResponse(body, status_code=200 if readiness.ready else 503)


@dataclass(frozen=True)
class Readiness:
    ready: bool
    degraded: list[str]
    checks: dict[str, Any]

    @property
    def status(self) -> str:
        return "not ready" if not self.ready else ("degraded" if self.degraded else "ready")


async def assess(runtime: Runtime[Any]) -> Readiness:
    """The readiness check behind /readyz, and behind the `bridge_ready` / `bridge_degraded` gauges
    (evaluated at every scrape, so a flapping readiness shows in Prometheus whoever probes it)."""
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
    return Readiness(ready, degraded, checks)
