"""Calls to the four services' HTTP APIs, as the signed-in person (their access token as Bearer).

JSON answers are decoded (204 -> None). An error answer raises `BackendProblem`, read from its
RFC 9457 problem+json (title, detail, the field errors of a 422); a 401 raises `SignInRequired`
(the token expired or was refused: the person signs in again).
"""

from __future__ import annotations

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


def problem_from(response: httpx.Response) -> BackendProblem:
    """The service's problem+json as a BackendProblem (a plain error body gives a plain one)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return BackendProblem(response.status_code, response.reason_phrase or "Error")
    errors = [
        FieldError(str(e.get("field", "")), str(e.get("message", "")))
        for e in body.get("errors") or []
        if isinstance(e, dict)
    ]
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
        return f"{self._base_urls[service]}/{path.lstrip('/')}"

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
        response = await self._http.request(
            method,
            self.url(service, path),
            params=params,
            json=json,
            data=data,
            files=files,
            content=content,
            headers=headers,
        )
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

    async def stream(self, service: Service, path: str, params: Any = None) -> httpx.Response:
        """A download (an export): the whole answer, read; its body, content-type and
        content-disposition are the caller's to pass on."""
        response = await self._http.get(self.url(service, path), params=params, headers=self._headers)
        self._raise_for(response)
        return response

    @staticmethod
    def _raise_for(response: httpx.Response) -> None:
        if response.status_code == 401:
            raise SignInRequired()
        if response.status_code >= 400:
            raise problem_from(response)
