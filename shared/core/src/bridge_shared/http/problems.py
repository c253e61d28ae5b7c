"""RFC 9457 problem details for every 4xx and 5xx, unknown routes and wrong methods included.

Every answer has a `type` that resolves: a problem type's page on the answering service
(`/problems/<slug>`, `bridge_shared.http.problem_pages`), made absolute against the service's public
base URL (`public_base_url`, when set) or the request's own base URL; and a `detail` sentence that
says what went wrong for a person, never a library's internals.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import URL
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match
from starlette.types import Scope

from bridge_shared.errors import TYPE_BASE, Problem, slug_of
from bridge_shared.http.problem_types import PROBLEM_TYPES
from bridge_shared.outbox.writer import EventTooLarge

__all__ = [
    "PROBLEM_JSON",
    "TYPE_BASE",
    "Problem",
    "install_problem_handlers",
    "problem_response",
    "resolve_type",
]

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def resolve_type(scope: Scope, type_: str) -> str:
    """A same-origin problem type (`/problems/<slug>`) made absolute for the client: against the
    service's public base URL (`app.state.public_base_url`) when set, else the request's base URL."""
    if not type_.startswith("/"):
        return type_  # already absolute (or about:blank)
    app = scope.get("app")
    base = getattr(getattr(app, "state", None), "public_base_url", None) if app is not None else None
    if not base:
        root = scope.get("root_path", "")
        base = str(URL(scope=scope).replace(path=root, query="", fragment=""))
    return f"{str(base).rstrip('/')}{type_}"


def _meaning(type_: str) -> str | None:
    """The registry's sentence for a problem raised without a detail of its own."""
    if not type_.startswith(TYPE_BASE):
        return None
    page = PROBLEM_TYPES.get(type_[len(TYPE_BASE) :])
    return page.meaning if page is not None else None


def _http_type(status: int) -> str:
    """The page of a plain HTTP error (404, 405, ...) when there is one, else about:blank."""
    if status in HTTPStatus._value2member_map_:
        slug = slug_of(HTTPStatus(status).phrase)
        if slug in PROBLEM_TYPES:
            return f"{TYPE_BASE}{slug}"
    return "about:blank"


def _http_detail(request: Request, status: int, detail: str | None, headers: dict[str, str] | None) -> str:
    """A sentence for a plain HTTP error raised by the framework rather than a use case."""
    if status == 404 and detail is None:
        return (
            f"This service has no route {request.url.path!r}. "
            "Its API is described at /docs (and /openapi.json)."
        )
    if status == 405:
        allowed = (headers or {}).get("Allow", "")
        also = f" It accepts: {allowed}." if allowed else ""
        return f"{request.method} is not allowed on {request.url.path!r}.{also}"
    if detail is not None:
        return detail if detail.endswith(".") else f"{detail}."
    return f"The request failed with HTTP status {status}."


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Every method some route of this path accepts (the Allow header of a 405): each is tried
    against the app's routes, as included routers wrap theirs."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


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
        "type": resolve_type(request.scope, type_),
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
            exc.detail or _meaning(exc.type),
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
        if exc.status_code == 405:
            # Starlette names only the first route of the path; the path may have several (GET, POST).
            allowed = _allowed_methods(request)
            if allowed:
                headers = {**(headers or {}), "Allow": allowed}
        return problem_response(
            request,
            exc.status_code,
            title,
            _http_detail(request, exc.status_code, detail, headers),
            type_=_http_type(exc.status_code),
            headers=headers,
        )

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # The client went away mid-body, or the request guard cut a body over its limit (and has
        # answered 413 itself): nothing to report, and this answer is not delivered.
        return problem_response(
            request,
            400,
            "Client disconnected",
            "The request body was not received.",
            type_=f"{TYPE_BASE}client-disconnected",
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        # Answered outside the RequestGuard (by Starlette's outermost middleware): its headers here.
        return problem_response(
            request,
            500,
            "Internal Server Error",
            "An unexpected error occurred.",
            type_=f"{TYPE_BASE}internal-server-error",
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
        )
