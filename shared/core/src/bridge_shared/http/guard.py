"""Request limits and response hardening, as ASGI middleware every service gets (`build_app`).

`RequestGuard`, before the application sees a request:
* headers: more than `http_max_header_bytes` in all (names and values), or an `Authorization` header
  longer than `http_max_authorization_bytes` -> 431;
* the path or a query parameter (name or value) carries a control character (NUL included) -> 422
  naming the parameter;
* the body: a `Content-Length` over the route's limit -> 413 at once; a body sent without one
  (chunked) is counted as it is read: once it passes the limit the guard answers 413 and the
  application reads a disconnect (what it would still send is dropped).
  The limit is `http_max_body_bytes`, or the route's own (`ServiceDefinition.body_limits`, e.g. the
  CSV import's `import_max_bytes`);
* `/metrics` with `metrics_token` set: without `Authorization: Bearer <metrics_token>` -> 401.
On the way out it adds `X-Content-Type-Options: nosniff` to every response and
`Cache-Control: no-store` to every response that does not set its own (the static docs assets do).
Its answers are problem+json like every other error (`bridge_shared.http.problems`).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridge_shared.errors import TYPE_BASE
from bridge_shared.http.problems import PROBLEM_JSON, resolve_type

__all__ = ["GuardLimits", "RequestGuard"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_STORE = (b"cache-control", b"no-store")


@dataclass(frozen=True)
class GuardLimits:
    max_body_bytes: int
    max_header_bytes: int
    max_authorization_bytes: int
    # Route path templates (as declared, e.g. "/cohorts/{cohort_id}/imports") with their own body cap.
    body_limits: Mapping[str, int] = field(default_factory=dict)
    metrics_token: str | None = None
    metrics_path: str = "/metrics"
    # False when the metrics have a port of their own (metrics_port): /metrics is 404 here.
    metrics_on_api_port: bool = True


def _problem(status: int, title: str, detail: str, path: str, type_: str, **extra: Any) -> bytes:
    body: dict[str, Any] = {
        "type": type_,
        "title": title,
        "status": status,
        "instance": path,
        "detail": detail,
        **extra,
    }
    return json.dumps(body).encode()


def _control_in_query(query_string: bytes) -> str | None:
    """The name of the first query parameter whose name or value holds a control character."""
    if not query_string:
        return None
    text = query_string.decode("latin-1")
    for name, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
        if _CONTROL.search(name) or _CONTROL.search(value):
            return _CONTROL.sub("?", name) or "(query)"
    return None


class RequestGuard:
    def __init__(self, app: ASGIApp, limits: GuardLimits) -> None:
        self.app = app
        self.limits = limits
        self._routes = [(compile_path(template)[0], limit) for template, limit in limits.body_limits.items()]

    def _body_limit(self, path: str) -> int:
        for regex, limit in self._routes:
            if regex.match(path):
                return limit
        return self.limits.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        def kind(slug: str) -> str:  # the problem type's page on this service
            return resolve_type(scope, f"{TYPE_BASE}{slug}")

        async def refuse(status: int, body: bytes, extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", PROBLEM_JSON.encode()),
                        (b"content-length", str(len(body)).encode()),
                        _NOSNIFF,
                        _NO_STORE,
                        *extra,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})

        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        total = sum(len(k) + len(v) for k, v in headers)
        if total > self.limits.max_header_bytes:
            await refuse(
                431,
                _problem(
                    431,
                    "Request headers too large",
                    f"The request's headers are {total} bytes; the limit is {self.limits.max_header_bytes}.",
                    path,
                    kind("headers-too-large"),
                    limit=self.limits.max_header_bytes,
                ),
            )
            return
        authorization = b""
        content_length: bytes | None = None
        for k, v in headers:
            if k == b"authorization":
                authorization = v
            elif k == b"content-length":
                content_length = v
        if len(authorization) > self.limits.max_authorization_bytes:
            await refuse(
                431,
                _problem(
                    431,
                    "Request headers too large",
                    f"The Authorization header is {len(authorization)} bytes; the limit is "
                    f"{self.limits.max_authorization_bytes}.",
                    path,
                    kind("headers-too-large"),
                    limit=self.limits.max_authorization_bytes,
                ),
            )
            return

        bad_name = "(path)" if _CONTROL.search(path) else _control_in_query(scope.get("query_string", b""))
        if bad_name is not None:
            message = "control characters (NUL included) are not allowed"
            await refuse(
                422,
                _problem(
                    422,
                    "Invalid request",
                    f"1 field(s) failed validation: {bad_name!r} holds a control character",
                    _CONTROL.sub("?", path),
                    kind("invalid-request"),
                    errors=[{"field": bad_name, "message": message, "type": "control_character"}],
                ),
            )
            return

        if path == self.limits.metrics_path and not self.limits.metrics_on_api_port:
            await refuse(
                404,
                _problem(404, "Not Found", "Metrics are served on their own port.", path, kind("not-found")),
            )
            return
        if path == self.limits.metrics_path and self.limits.metrics_token is not None:
            expected = f"Bearer {self.limits.metrics_token}".encode()
            if not hmac.compare_digest(authorization, expected):
                await refuse(
                    401,
                    _problem(
                        401,
                        "Authentication required",
                        "Send Authorization: Bearer <metrics token>.",
                        path,
                        kind("metrics-token"),
                    ),
                    [(b"www-authenticate", b"Bearer")],
                )
                return

        limit = self._body_limit(path)
        if content_length is not None:
            try:
                declared = int(content_length)
            except ValueError:
                declared = -1
            if declared > limit:
                await refuse(
                    413,
                    _problem(
                        413,
                        "Request body too large",
                        f"The request body is {declared} bytes; the limit is {limit}.",
                        path,
                        kind("body-too-large"),
                        limit=limit,
                    ),
                )
                return

        received = 0
        refused = False  # the guard answered 413 mid-body; what the app sends after is dropped
        started = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer here rather than raise: an exception from receive() may reach the
                    # route wrapped (BaseHTTPMiddleware) and become a 400 or a 500.
                    refused = True
                    if not started:
                        await refuse(
                            413,
                            _problem(
                                413,
                                "Request body too large",
                                f"The request body is larger than {limit} bytes.",
                                path,
                                kind("body-too-large"),
                                limit=limit,
                            ),
                        )
                    return {"type": "http.disconnect"}
            return message

        async def hardened_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
                out = list(message.get("headers", []))
                names = {k.lower() for k, _ in out}
                if b"x-content-type-options" not in names:
                    out.append(_NOSNIFF)
                if b"cache-control" not in names:
                    out.append(_NO_STORE)
                message = {**message, "headers": out}
            await send(message)

        await self.app(scope, counted_receive, hardened_send)
