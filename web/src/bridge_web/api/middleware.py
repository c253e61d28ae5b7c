"""ASGI middleware: the session cookie, and the security headers on every answer."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridge_web.app.session import SessionCodec

# Rewriting the cookie only to move the idle clock: at most this often.
SEEN_GRANULARITY_SECONDS = 60

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class SessionMiddleware:
    """Puts the session (a dict) in `scope["session"]` (`request.session`); writes it back when it
    changed. A session idle longer than `idle_seconds`, or whose access token expired, loses its
    signed-in user."""

    def __init__(self, app: ASGIApp, *, codec: SessionCodec, secure: bool, idle_seconds: int) -> None:
        self.app = app
        self.codec = codec
        self.secure = secure
        self.idle_seconds = idle_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        present = [name for name in self.codec.chunk_names() if name in connection.cookies]
        data = self.codec.decode(self.codec.join(dict(connection.cookies))) or {}
        now = int(time.time())
        before = _snapshot(data) if data else ""
        user = data.get("user")
        if isinstance(user, dict) and (
            now - int(data.get("seen", 0)) > self.idle_seconds or int(user.get("exp", 0)) <= now
        ):
            data.pop("user", None)
            data.pop("csrf", None)  # a new token with the next sign-in
        scope["session"] = data

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                session: dict[str, Any] = scope["session"]
                if session.get("user") and now - int(session.get("seen", 0)) >= SEEN_GRANULARITY_SECONDS:
                    session["seen"] = now
                after = _snapshot(session) if session else ""
                if after != before or (present and not session):
                    headers = MutableHeaders(scope=message)
                    for cookie in self._cookies(session, present):
                        headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _cookies(self, session: dict[str, Any], present: list[str]) -> list[str]:
        flags = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if self.secure else "")
        names = self.codec.chunk_names()
        chunks = self.codec.split(self.codec.encode(session)) if session else []
        cookies = [
            f"{name}={chunk}; Max-Age={self.idle_seconds}{flags}"
            for name, chunk in zip(names, chunks, strict=False)
        ]
        cookies += [f"{name}=; Max-Age=0{flags}" for name in names[len(chunks) :] if name in present]
        return cookies


def _snapshot(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, default=str)


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy (no inline scripts or styles) and the usual hardening."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "same-origin")
                headers.setdefault("x-frame-options", "DENY")
                if "text/html" in headers.get("content-type", ""):
                    headers.setdefault("cache-control", "no-store")
                if self.hsts:
                    headers.setdefault("strict-transport-security", "max-age=31536000; includeSubDomains")
            await send(message)

        await self.app(scope, receive, send_with_headers)
