"""Issue 20, item 2: every 4xx/5xx is problem+json with a sentence a person can act on, unknown routes
and wrong methods included, and token errors say what is wrong without a library's internals (a
garbage bearer token once answered "'utf-8' codec can't decode byte 0xb7..."). All four services, in
process (these answers come before any database or broker is touched); each answer's `type` resolves."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import AsyncIterator, Callable

import httpx
import jwt
import pytest
from fastapi import FastAPI

from bridge_matching.main import create_app as matching_app
from bridge_matching.settings import MatchingSettings
from bridge_notifications.main import create_app as notifications_app
from bridge_notifications.settings import NotificationsSettings
from bridge_reporting.main import create_app as reporting_app
from bridge_reporting.settings import ReportingSettings
from bridge_sessions.main import create_app as sessions_app
from bridge_sessions.settings import SessionsSettings
from bridge_shared.settings import DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, DEV_JWT_SECRET

SERVICES: dict[str, tuple[Callable[[], FastAPI], str]] = {
    "matching": (lambda: matching_app(MatchingSettings()), "/cohorts"),
    "sessions": (lambda: sessions_app(SessionsSettings()), "/relationships"),
    "notifications": (lambda: notifications_app(NotificationsSettings()), "/deliveries"),
    "reporting": (lambda: reporting_app(ReportingSettings()), "/reports/overview"),
}
# Words that would mean a library's or decoder's message reached the client.
INTERNALS = (
    "codec",
    "utf-8",
    "utf8",
    "byte 0x",
    "0xb7",
    "decode",
    "Invalid header",
    "padding",
    "PyJWT",
    "jwt.",
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


NOT_UTF8 = b"\xb7\xfa\xff\xfe"  # the measured case: "'utf-8' codec can't decode byte 0xb7"
HS256_HEADER = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())


def _signed(signing_input: str) -> str:
    """Correctly signed (the development secret), so the service gets as far as reading the payload."""
    mac = hmac.new(DEV_JWT_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def _claims(**over: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": "E1",
        "roles": ["hr_admin"],
        "iss": DEFAULT_JWT_ISSUER,
        "aud": DEFAULT_JWT_AUDIENCE,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


GARBAGE: dict[str, Callable[[], tuple[str, str]]] = {
    # name: () -> (token, a word the detail must contain)
    "random bytes": lambda: (_b64(os.urandom(48)), "well-formed"),
    "non-UTF-8 header": lambda: (_b64(NOT_UTF8 * 6) + ".e30.c2ln", "well-formed"),
    "non-UTF-8 payload": lambda: (
        _signed(f"{HS256_HEADER}.{_b64(NOT_UTF8 * 8)}"),
        "well-formed",
    ),
    "header not an object": lambda: (f"{_b64(b'[1]')}.e30.c2ln", "well-formed"),
    "expired": lambda: (
        jwt.encode(_claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600), DEV_JWT_SECRET),
        "expired",
    ),
    "wrong issuer": lambda: (jwt.encode(_claims(iss="https://elsewhere"), DEV_JWT_SECRET), "issuer"),
    "wrong audience": lambda: (jwt.encode(_claims(aud="someone-else"), DEV_JWT_SECRET), "audience"),
    "bad signature": lambda: (jwt.encode(_claims(), "not-the-secret-but-long-enough-32b"), "signature"),
    "no exp": lambda: (jwt.encode(_claims(exp=None), DEV_JWT_SECRET), "exp"),
}


@pytest.fixture(params=sorted(SERVICES))
async def service(request: pytest.FixtureRequest) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    factory, protected = SERVICES[request.param]
    transport = httpx.ASGITransport(app=factory(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as c:
        yield c, protected


async def _assert_problem(c: httpx.AsyncClient, r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json", r.headers
    body = r.json()
    assert body["status"] == status and body["title"] and body["instance"]
    detail = str(body.get("detail", ""))
    assert detail[:1].isupper() and detail.endswith("."), f"not a sentence: {detail!r}"
    page = await c.get(str(body["type"]))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), body["type"]
    return body


async def test_an_unknown_route_is_a_404_problem_with_a_sentence(
    service: tuple[httpx.AsyncClient, str],
) -> None:
    c, _ = service
    for method in ("GET", "POST", "DELETE"):
        body = await _assert_problem(c, await c.request(method, "/no/such/thing"), 404)
        assert "/no/such/thing" in str(body["detail"]) and "/docs" in str(body["detail"])
        assert str(body["type"]).endswith("/problems/not-found")


async def test_a_wrong_method_is_a_405_problem_naming_the_allowed_ones(
    service: tuple[httpx.AsyncClient, str],
) -> None:
    c, protected = service
    for method, path in (("DELETE", "/healthz"), ("PATCH", protected)):
        r = await c.request(method, path)
        body = await _assert_problem(c, r, 405)
        assert method in str(body["detail"]) and "GET" in str(body["detail"])
        assert "GET" in r.headers["allow"]
        assert str(body["type"]).endswith("/problems/method-not-allowed")


@pytest.mark.parametrize("case", sorted(GARBAGE))
async def test_a_bad_token_is_a_401_that_says_what_is_wrong_without_internals(
    service: tuple[httpx.AsyncClient, str], case: str
) -> None:
    c, protected = service
    token, expected = GARBAGE[case]()
    r = await c.get(protected, headers={"Authorization": f"Bearer {token}"})
    body = await _assert_problem(c, r, 401)
    assert body["title"] == "Invalid token"
    assert str(body["type"]).endswith("/problems/invalid-token")
    detail = str(body["detail"])
    assert expected in detail, detail
    for word in INTERNALS:
        assert word.lower() not in detail.lower(), f"{case}: {detail!r} names {word!r}"
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_no_token_is_a_401_problem_with_a_sentence(
    service: tuple[httpx.AsyncClient, str],
) -> None:
    c, protected = service
    body = await _assert_problem(c, await c.get(protected), 401)
    assert str(body["type"]).endswith("/problems/authentication-required")


async def test_the_request_guards_answers_link_to_pages_too(service: tuple[httpx.AsyncClient, str]) -> None:
    c, protected = service
    r = await c.get(protected, headers={"X-Padding": "x" * 70_000})  # over the header cap
    body = await _assert_problem(c, r, 431)
    assert str(body["type"]) == "http://svc/problems/headers-too-large"


async def test_the_metrics_port_answers_problems_too() -> None:
    """The separate metrics port (`metrics_port`) is not the API, but its refusals are problem+json too."""
    from bridge_shared.http.metrics_server import MetricsServer

    async def render() -> tuple[bytes, str]:
        return b"up 1\n", "text/plain"

    server = MetricsServer(render, host="127.0.0.1", port=0, token="metrics-secret")
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as c:
            for path, status in (("/elsewhere", 404), ("/metrics", 401)):
                r = await c.get(path)
                assert r.status_code == status
                assert r.headers["content-type"] == "application/problem+json"
                body = r.json()
                assert body["status"] == status and body["type"] == "about:blank"
                assert body["detail"][:1].isupper() and body["detail"].endswith(".")
            ok = await c.get("/metrics", headers={"Authorization": "Bearer metrics-secret"})
            assert ok.status_code == 200 and ok.text == "up 1\n"
    finally:
        await server.stop()


async def test_a_problem_raised_without_a_detail_gets_its_types_sentence(
    service: tuple[httpx.AsyncClient, str],
) -> None:
    from bridge_shared.http.problem_types import PROBLEM_TYPES

    c, _ = service
    body = await _assert_problem(
        c, await c.get("/docs/assets/no-such-asset.js"), 404
    )  # Problem(404, "Not found")
    assert body["detail"] == PROBLEM_TYPES["not-found"].meaning
