"""RFC 9457 problem details for every 4xx and 5xx."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from bridge_shared.errors import TYPE_BASE, Problem
from bridge_shared.outbox.writer import EventTooLarge

__all__ = ["PROBLEM_JSON", "TYPE_BASE", "Problem", "install_problem_handlers", "problem_response"]

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title,
        "status": status,
        "instance": request.url.path,
    }
    if detail:
        body["detail"] = detail
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    return ".".join(parts) or "(body)"


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            request,
            exc.status,
            exc.title,
            exc.detail,
            type_=exc.type,
            headers=exc.headers,
            **exc.extensions,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": _field(e.get("loc", ())),
                "message": e.get("msg", ""),
                "type": e.get("type", ""),
            }
            for e in exc.errors()
        ]
        return problem_response(
            request,
            422,
            "Invalid request",
            f"{len(errors)} field(s) failed validation",
            type_=f"{TYPE_BASE}invalid-request",
            errors=errors,
        )

    @app.exception_handler(EventTooLarge)
    async def _too_large(request: Request, exc: EventTooLarge) -> JSONResponse:
        # The change would produce an event the broker refuses; the transaction has rolled back.
        field = exc.field or "(body)"
        return problem_response(
            request,
            413,
            "Event too large",
            f"The change would publish a {exc.size}-byte event ({exc.event_type}); the limit is "
            f"{exc.limit} bytes. Make {field!r} smaller ({exc.field_size} bytes now). Nothing was stored.",
            type_=f"{TYPE_BASE}event-too-large",
            field=field,
            size=exc.size,
            limit=exc.limit,
            errors=[{"field": field, "message": f"too large: {exc.field_size} bytes", "type": "too_large"}],
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = (
            HTTPStatus(exc.status_code).phrase
            if exc.status_code in HTTPStatus._value2member_map_
            else "Error"
        )
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(request, exc.status_code, title, detail, headers=headers)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # The client went away mid-body, or the request guard cut a body over its limit (and has
        # answered 413 itself): nothing to report, and this answer is not delivered.
        return problem_response(request, 400, "Client disconnected", "The request body was not received.")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        # Answered outside the RequestGuard (by Starlette's outermost middleware): its headers here.
        return problem_response(
            request,
            500,
            "Internal Server Error",
            "An unexpected error occurred.",
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
        )
