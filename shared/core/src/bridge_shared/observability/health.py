"""Liveness and readiness: /healthz says the process is up; /readyz checks database and broker."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bridge_shared.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database and broker reachable")
async def readyz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
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
    if runtime.relay is not None and checks["database"] == "ok":
        checks["outbox"] = {
            **(await runtime.relay.backlog()),
            "leader": runtime.relay.is_leader,
            "last_error": runtime.relay.last_error,
        }
    ready = checks["database"] == "ok" and checks["broker"] == "ok"
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
