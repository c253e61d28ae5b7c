"""Issue 20, item 3: every problem `type` a service can emit resolves to a page the service serves.

The types come from the source (tests/shared/problem_scan.py: every `Problem(...)`, the handlers' and
the request guard's own types) and from the framework's errors (404 and 405); each must be in the
registry (`bridge_shared.http.problem_types`) and its page must answer 200 HTML on all four services.
A new problem without a page fails `test_every_problem_type_the_code_can_emit_has_a_page`; the scanner
itself is shown to catch one (`test_the_scan_finds_a_problem_without_a_page`). No database or broker:
these routes do not touch them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

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
from bridge_shared.http.problem_types import PROBLEM_TYPES
from tests.shared.problem_scan import scan_repository, scan_sources

SERVICES: dict[str, Callable[[], FastAPI]] = {
    "matching": lambda: matching_app(MatchingSettings()),
    "sessions": lambda: sessions_app(SessionsSettings()),
    "notifications": lambda: notifications_app(NotificationsSettings()),
    "reporting": lambda: reporting_app(ReportingSettings()),
}
# The framework's own errors that reach clients (unknown route, wrong method): their pages too.
FRAMEWORK_SLUGS = {"not-found", "method-not-allowed", "bad-request", "internal-server-error"}


@pytest.fixture(params=sorted(SERVICES))
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    app = SERVICES[request.param]()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://svc:8123"
    ) as c:
        yield c


def test_every_problem_type_the_code_can_emit_has_a_page() -> None:
    scan = scan_repository()
    assert not scan.unresolved, "titles the scan cannot resolve:\n" + "\n".join(scan.unresolved)
    # The scan does see the code (a sanity floor: it found the well-known ones).
    assert {
        "pair-not-found",
        "invalid-request",
        "body-too-large",
        "invalid-token",
        "enrolment-closed",
    } <= set(scan.slugs)
    missing = {slug: where for slug, where in scan.slugs.items() if slug not in PROBLEM_TYPES}
    assert not missing, (
        "problem types without a page: add them to bridge_shared.http.problem_types.PROBLEM_TYPES\n"
        + "\n".join(f"{slug}: {', '.join(where)}" for slug, where in sorted(missing.items()))
    )


def test_the_scan_finds_a_problem_without_a_page() -> None:
    source = """
from bridge_shared.errors import TYPE_BASE, Problem

def gate(cohort, title):
    raise Problem(409, title, "no")

async def use(conn):
    gate(None, "Widget frozen")
    raise Problem(404, "Widget not found", "no widget")

def other():
    raise Problem(422, "Invalid request", type_=f"{TYPE_BASE}widget-shape")

def dynamic(t):
    raise Problem(400, t.upper())
"""
    scan = scan_sources([("widgets.py", source)])
    assert {"widget-frozen", "widget-not-found", "widget-shape"} <= set(scan.slugs)
    assert not {"widget-frozen", "widget-not-found", "widget-shape"} & set(PROBLEM_TYPES)
    assert any("t.upper()" in u for u in scan.unresolved), scan.unresolved


async def test_every_page_is_served_offline(client: httpx.AsyncClient) -> None:
    slugs = set(scan_repository().slugs) | FRAMEWORK_SLUGS
    for slug in sorted(slugs):
        r = await client.get(f"/problems/{slug}")
        assert r.status_code == 200, slug
        assert r.headers["content-type"].startswith("text/html")
        page = PROBLEM_TYPES[slug]
        assert page.title in r.text.replace("&#x27;", "'")
        assert not re.search(r"https?://", r.text), slug  # same-origin links only: works offline
    index = await client.get("/problems")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    for slug in PROBLEM_TYPES:
        assert f'href="/problems/{slug}"' in index.text
    unknown = await client.get("/problems/no-such-problem")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"


async def test_problem_types_are_absolute_urls_of_the_answering_service(client: httpx.AsyncClient) -> None:
    r = await client.get("/no/such/route")
    type_ = r.json()["type"]
    assert type_ == "http://svc:8123/problems/not-found"
    assert (await client.get(type_)).status_code == 200


async def test_a_public_base_url_is_used_for_problem_types() -> None:
    app = matching_app(MatchingSettings(public_base_url="https://bridge.example.org/matching/"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://internal") as c:
        r = await c.get("/cohorts")  # no token: 401
        assert r.status_code == 401
        assert r.json()["type"] == "https://bridge.example.org/matching/problems/authentication-required"
