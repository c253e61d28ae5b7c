"""Serves /metrics on a port of its own (setting `metrics_port`), apart from the API.

A deliberately small HTTP/1.1 server on asyncio streams: GET /metrics only, one request per
connection, headers capped, the optional `metrics_token` checked like on the API port. The scrape
runs the same refreshers as the API's /metrics (ServiceMetrics.refresh).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

MAX_REQUEST_HEAD_BYTES = 16 * 1024
READ_TIMEOUT_SECONDS = 5.0


def _response(status: str, body: bytes, content_type: str, extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n{extra}\r\n"
    )
    return head.encode() + body


def _problem(status: int, phrase: str, detail: str, path: str, extra: str = "") -> bytes:
    """problem+json like the API's errors (`about:blank`: this port serves no problem pages)."""
    body = {"type": "about:blank", "title": phrase, "status": status, "detail": detail, "instance": path}
    return _response(f"{status} {phrase}", json.dumps(body).encode(), "application/problem+json", extra)


class MetricsServer:
    def __init__(
        self,
        render: Callable[[], Awaitable[tuple[bytes, str]]],
        *,
        host: str,
        port: int,
        token: str | None = None,
    ) -> None:
        self._render = render
        self._host = host
        self._port = port
        self._token = token
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, self._host, self._port, limit=MAX_REQUEST_HEAD_BYTES
        )
        log.info("metrics on http://%s:%s/metrics", self._host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                head = await reader.readuntil(b"\r\n\r\n")
            writer.write(await self._answer(head))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, head: bytes) -> bytes:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        path = parts[1].split("?", 1)[0] if len(parts) == 3 else ""
        if len(parts) != 3 or parts[0] != "GET" or path != "/metrics":
            return _problem(404, "Not Found", "This port serves only GET /metrics.", path[:200])
        if self._token is not None:
            authorization = ""
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "authorization":
                    authorization = value.strip()
            if not hmac.compare_digest(authorization.encode(), f"Bearer {self._token}".encode()):
                return _problem(
                    401,
                    "Unauthorized",
                    "Send Authorization: Bearer <metrics token>.",
                    path,
                    "WWW-Authenticate: Bearer\r\n",
                )
        body, content_type = await self._render()
        return _response("200 OK", body, content_type)
