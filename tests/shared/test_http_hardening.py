"""HTTP limits and hardening in every service (bridge_shared.http.guard, docs/security-http.md): body
and header caps, control characters and out-of-range integers in the query, security headers,
/readyz details for operators only, /metrics behind a token or on a port of its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
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
from bridge_shared.settings import ServiceSettings
from bridge_shared.types import check_text
from tests.service_harness import RunningService, auth, running_service

pytestmark = pytest.mark.integration

HR = auth("hr_admin", sub="hr-hardening")
PARTICIPANT = auth("participant", sub="emp-hardening")
METRICS_TOKEN = "scrape-secret-0123456789"
SOME_ID = str(uuid.uuid4())


# Per service: how to build it, a GET with a string query parameter, a GET with an integer one, and a
# write with a JSON body.
SERVICES: dict[str, dict[str, Any]] = {
    "matching": {
        "app": matching_app,
        "settings": MatchingSettings,
        "text_query": (f"/cohorts/{SOME_ID}/pairs", "status"),
        "int_query": (f"/cohorts/{SOME_ID}/participants", "offset"),
        "write": ("POST", "/cohorts"),
    },
    "sessions": {
        "app": sessions_app,
        "settings": SessionsSettings,
        "overrides": {"health_check_enabled": False},
        "text_query": ("/relationships", "cohort_id"),
        "int_query": None,  # no integer query parameter
        "write": ("POST", f"/relationships/{SOME_ID}/sessions"),
    },
    "notifications": {
        "app": lambda s: notifications_app(s, dispatcher=False, jobs=False),
        "settings": NotificationsSettings,
        "text_query": ("/deliveries", "kind"),
        "int_query": ("/deliveries", "offset"),
        "write": ("PUT", "/me/preferences"),
    },
    "reporting": {
        "app": reporting_app,
        "settings": ReportingSettings,
        "text_query": ("/reports/overview", "cohort_id"),
        "int_query": ("/reports/at-risk-pairs", "limit"),
        # No route reads a body: a declared length is refused before routing, a chunked body is not
        # read at all (405).
        "write": ("POST", "/reports/overview"),
        "reads_body": False,
    },
}


@pytest.fixture(scope="module", params=sorted(SERVICES))
async def svc(request: Any, admin_dsn: str, bootstrap_servers: str) -> AsyncIterator[RunningService]:
    spec = SERVICES[request.param]
    create: Callable[[Any], FastAPI] = spec["app"]
    settings_cls: type[ServiceSettings] = spec["settings"]
    async with running_service(
        create,
        settings_cls,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        metrics_token=METRICS_TOKEN,
        **spec.get("overrides", {}),
    ) as running:
        running.app.state.spec = spec
        yield running


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    assert r.headers["x-content-type-options"] == "nosniff"
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


async def test_control_characters_in_the_query_or_path_are_422(svc: RunningService) -> None:
    path, name = svc.app.state.spec["text_query"]
    for value in ("a\x00b", "\x00", "x\x1fy", "tab\there", "\x7f"):
        body = _problem(await svc.client.get(path, params={name: value}, headers=HR), 422)
        assert body["errors"][0]["field"] == name, body
    # Raw, as a client that does not encode would send it; and in the path.
    body = _problem(await svc.client.get(f"{path}?{name}=%00", headers=HR), 422)
    assert body["errors"][0]["field"] == name
    body = _problem(await svc.client.get(f"{path}/%00", headers=HR), 422)
    assert body["errors"][0]["field"] == "(path)"
    # Printable unicode is fine (the route decides what it means).
    assert (await svc.client.get(path, params={name: "Zürich ✓"}, headers=HR)).status_code < 500


async def test_integers_out_of_range_in_the_query_are_422(svc: RunningService) -> None:
    spec = svc.app.state.spec["int_query"]
    if spec is None:
        pytest.skip("this service has no integer query parameter")
    path, name = spec
    for value in (2**63, 2**64 + 1, -(2**63) - 1, 10**40):
        body = _problem(await svc.client.get(path, params={name: value}, headers=HR), 422)
        assert body["errors"][0]["field"] == name, body


async def test_a_body_over_the_cap_is_413_declared_or_chunked(svc: RunningService) -> None:
    method, path = svc.app.state.spec["write"]
    cap = svc.settings.http_max_body_bytes
    headers = {**HR, "Content-Type": "application/json"}
    body = _problem(
        await svc.client.request(method, path, content=b"[" + b"1," * cap + b"1]", headers=headers), 413
    )
    assert body["limit"] == cap and body["type"].endswith("/body-too-large")

    async def chunked() -> AsyncIterator[bytes]:
        yield b"["
        for _ in range(cap // 65536 + 2):
            yield b"1," * 32768
        yield b"1]"

    r = await svc.client.request(method, path, content=chunked(), headers=headers)
    if svc.app.state.spec.get("reads_body", True):
        assert _problem(r, 413)["limit"] == cap
    else:
        assert r.status_code == 405, r.text


async def test_headers_over_the_cap_are_431(svc: RunningService) -> None:
    path, _ = svc.app.state.spec["text_query"]
    # An 8 MiB Authorization header: refused before anything parses the token.
    huge = {"Authorization": "Bearer " + "a" * (8 * 1024 * 1024)}
    body = _problem(await svc.client.get(path, headers=huge), 431)
    assert body["limit"] == svc.settings.http_max_header_bytes
    # Under the total, the Authorization header has a cap of its own.
    long_token = {"Authorization": "Bearer " + "a" * (svc.settings.http_max_authorization_bytes + 1)}
    body = _problem(await svc.client.get(path, headers=long_token), 431)
    assert body["limit"] == svc.settings.http_max_authorization_bytes
    many = {**HR, **{f"X-Filler-{i}": "f" * 1000 for i in range(40)}}
    body = _problem(await svc.client.get(path, headers=many), 431)
    assert body["limit"] == svc.settings.http_max_header_bytes
    # A normal request is not affected.
    assert (await svc.client.get(path, headers=HR)).status_code < 431


async def test_api_answers_carry_nosniff_and_no_store(svc: RunningService) -> None:
    path, _ = svc.app.state.spec["text_query"]
    for r in (
        await svc.client.get(path, headers=HR),
        await svc.client.get(path),  # 401
        await svc.client.get("/openapi.json"),
        await svc.client.get("/healthz"),
    ):
        assert r.headers["x-content-type-options"] == "nosniff", (r.request.url, r.headers)
        assert r.headers["cache-control"] == "no-store", (r.request.url, r.headers)
    # Static documentation assets keep their own caching (they carry no personal data).
    asset = await svc.client.get("/docs/assets/swagger-ui/swagger-ui.css")
    assert asset.status_code == 200
    assert asset.headers["cache-control"].startswith("public")
    assert asset.headers["x-content-type-options"] == "nosniff"


async def test_readyz_details_only_for_operators(svc: RunningService) -> None:
    for headers in ({}, PARTICIPANT, {"Authorization": "Bearer not-a-jwt"}):
        r = await svc.client.get("/readyz", headers=headers)
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "ready"}, (headers, r.text)
    for operator in (HR, auth("service", sub="ops")):
        r = await svc.client.get("/readyz", headers=operator)
        assert r.status_code == 200
        assert r.json()["status"] == "ready"
        assert r.json()["checks"]["database"] == "ok", r.text
    # The docs say so.
    doc = (await svc.client.get("/openapi.json")).json()["paths"]["/readyz"]["get"]
    schema = doc["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["status"] and "hr_admin" in doc["description"]


async def test_metrics_with_a_token_refuse_anonymous_scrapes(svc: RunningService) -> None:
    _problem(await svc.client.get("/metrics"), 401)
    _problem(await svc.client.get("/metrics", headers=HR), 401)  # a user token is not the scrape token
    r = await svc.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200 and "bridge_service_info" in r.text


async def test_metrics_on_a_port_of_their_own(admin_dsn: str, bootstrap_servers: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with running_service(
        reporting_app,
        ReportingSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        metrics_port=port,
        metrics_token=METRICS_TOKEN,
    ) as svc:
        _problem(await svc.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}), 404)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as scraper:
            assert (await scraper.get("/metrics")).status_code == 401
            r = await scraper.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            assert r.status_code == 200 and "bridge_outbox_pending" in r.text, r.text[:300]
            assert r.headers["x-content-type-options"] == "nosniff"
            assert (await scraper.get("/openapi.json")).status_code == 404
    await asyncio.sleep(0)
    with pytest.raises(httpx.ConnectError):  # closed with the service
        async with httpx.AsyncClient(timeout=2) as c:
            await c.get(f"http://127.0.0.1:{port}/metrics")


@pytest.mark.parametrize(
    ("raw", "multiline", "cleaned"),
    [(" a ", False, "a"), ("a\n", False, "a"), ("a\nb", True, "a\nb"), ("\tx\r\n", True, "x")],
)
def test_text_is_cleaned(raw: str, multiline: bool, cleaned: str) -> None:
    assert check_text(raw, multiline=multiline) == cleaned


@pytest.mark.parametrize(
    ("raw", "multiline"),
    [("", False), ("   ", False), ("a\x00", True), ("a\nb", False), ("\x85", False), ("a\ud800", True)],
)
def test_text_is_refused(raw: str, multiline: bool) -> None:
    with pytest.raises(ValueError, match=r"control character|empty"):
        check_text(raw, multiline=multiline)
