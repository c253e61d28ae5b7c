"""Calls to the four services' HTTP APIs, as the signed-in person (their access token as Bearer).

JSON answers are decoded (204 -> None). An error answer raises `BackendProblem`, read from its
RFC 9457 problem+json (title, detail, the field errors of a 422); a 401 raises `SignInRequired`
(the token expired or was refused: the person signs in again). A service that cannot be reached
(connection refused, a timeout, a broken answer) raises `ServiceUnavailable` (a BackendProblem with
status 503, or 502 when it stopped mid-answer), which the pages show as "a service is not answering".

Paths are the services' paths, built by the callers from ids the browser sent
(`f"/relationships/{rid}"`): `Backend` refuses any path with a segment that is empty, `.` or `..`, or
holds `%`, `?`, `#` or a backslash (a 404 "Not found"), so no id can climb to another resource.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

Service = Literal["matching", "sessions", "notifications", "reporting"]
SERVICES: tuple[Service, ...] = ("matching", "sessions", "notifications", "reporting")


class SignInRequired(Exception):
    """The person is not signed in (or their token is no longer accepted)."""


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass
class BackendProblem(Exception):
    """A service answered with an error."""

    status: int
    title: str
    detail: str | None = None
    errors: list[FieldError] = field(default_factory=list)
    type: str = "about:blank"

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.title}: {self.detail or ''}".strip())

    def __str__(self) -> str:
        return self.detail or self.title


class ServiceUnavailable(BackendProblem):
    """A service could not be reached or broke off its answer (503 or 502)."""


log = logging.getLogger(__name__)

_UNSAFE_IN_SEGMENT = ("%", "?", "#", "\\")


def safe_path(path: str) -> str:
    """`path` (without its leading slash) when every segment is a plain one; else a 404 problem."""
    relative = path[1:] if path.startswith("/") else path
    for segment in relative.split("/"):
        if segment in ("", ".", "..") or any(c in segment for c in _UNSAFE_IN_SEGMENT):
            raise BackendProblem(404, "Not found", "There is no such page.")
    return relative


def problem_from(response: httpx.Response) -> BackendProblem:
    """The service's problem+json as a BackendProblem (a plain error body gives a plain one)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return BackendProblem(response.status_code, response.reason_phrase or "Error")
    raw = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    errors = [FieldError(str(e.get("field", "")), str(e.get("message", ""))) for e in raw]
    if response.status_code == 422 and raw and all(str(e.get("type", "")).startswith("uuid_") for e in raw):
        # Only ids that are not ids at all (`/proposals/not-a-uuid`): nothing has that name.
        return BackendProblem(404, "Not found", "There is no such page.")
    detail = body.get("detail")
    return BackendProblem(
        status=response.status_code,
        title=str(body.get("title") or response.reason_phrase or "Error"),
        detail=str(detail) if detail is not None else None,
        errors=errors,
        type=str(body.get("type") or "about:blank"),
    )


class Backend:
    """The services, called with one person's access token."""

    def __init__(self, http: httpx.AsyncClient, base_urls: dict[str, str], access_token: str) -> None:
        self._http = http
        self._base_urls = base_urls
        self._headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}

    def url(self, service: Service, path: str) -> str:
        return f"{self._base_urls[service]}/{safe_path(path)}"

    async def _send(
        self, service: Service, request: httpx.Request, *, stream: bool = False
    ) -> httpx.Response:
        try:
            return await self._http.send(request, stream=stream)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            log.warning("%s cannot be reached: %s %s: %r", service, request.method, request.url.path, error)
            raise ServiceUnavailable(503, "Service unavailable", f"{service} cannot be reached.") from error
        except httpx.TransportError as error:  # a read timeout, a broken or garbled answer
            log.warning("%s did not answer: %s %s: %r", service, request.method, request.url.path, error)
            raise ServiceUnavailable(502, "Bad gateway", f"{service} did not answer.") from error

    async def request(
        self,
        method: str,
        service: Service,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> Any:
        headers = self._headers if content_type is None else {**self._headers, "Content-Type": content_type}
        request = self._http.build_request(
            method,
            self.url(service, path),
            params=params,
            json=json,
            data=data,
            files=files,
            content=content,
            headers=headers,
        )
        response = await self._send(service, request)
        self._raise_for(response)
        if response.status_code == 204 or not response.content:
            return None
        if "json" in response.headers.get("content-type", ""):
            return response.json()
        return response.text

    async def get(self, service: Service, path: str, params: Any = None) -> Any:
        return await self.request("GET", service, path, params=params)

    async def post(
        self,
        service: Service,
        path: str,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        params: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> Any:
        """`content` with `content_type`: a raw body (an HRIS file as text/csv)."""
        return await self.request(
            "POST",
            service,
            path,
            params=params,
            json=json,
            data=data,
            files=files,
            content=content,
            content_type=content_type,
        )

    async def put(self, service: Service, path: str, json: Any = None, params: Any = None) -> Any:
        return await self.request("PUT", service, path, params=params, json=json)

    async def patch(self, service: Service, path: str, json: Any = None, params: Any = None) -> Any:
        return await self.request("PATCH", service, path, params=params, json=json)

    async def delete(self, service: Service, path: str, params: Any = None) -> Any:
        return await self.request("DELETE", service, path, params=params)

    async def stream(self, service: Service, path: str, params: Any = None) -> Download:
        """A download (an export), streamed: the answer's status and headers are read here (an error
        raises as for any call), its body is read chunk by chunk while the caller passes it on
        (`Download.chunks()`, then `aclose()`)."""
        request = self._http.build_request(
            "GET", self.url(service, path), params=params, headers={**self._headers, "Accept": "*/*"}
        )
        response = await self._send(service, request, stream=True)
        if response.status_code >= 400:
            try:
                await response.aread()
            finally:
                await response.aclose()
            self._raise_for(response)
        return Download(response, service)

    @staticmethod
    def _raise_for(response: httpx.Response) -> None:
        if response.status_code == 401:
            raise SignInRequired()
        if response.status_code >= 400:
            raise problem_from(response)


class Download:
    """A service's answer whose body is still to be read: its content type and disposition, and the
    body in chunks as they arrive (the connection is closed once read, or by `aclose`)."""

    def __init__(self, response: httpx.Response, service: Service) -> None:
        self._response = response
        self._service = service

    @property
    def media_type(self) -> str:
        return str(self._response.headers.get("content-type", "application/octet-stream"))

    @property
    def content_disposition(self) -> str | None:
        value = self._response.headers.get("content-disposition")
        return None if value is None else str(value)

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_bytes():
                yield chunk
        except httpx.TransportError as error:  # the connection to the browser is dropped too
            log.warning("%s broke off a download: %r", self._service, error)
            raise
        finally:
            await self._response.aclose()

    async def aclose(self) -> None:
        await self._response.aclose()
