"""The docs pages work offline: their HTML loads only same-origin URLs, and the service serves each
of them with the right content type. (No database or broker: these routes do not touch them.)"""

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
from bridge_shared.http.docs import ASYNCAPI_CSS_URL, ASYNCAPI_JS_URL

SERVICES: dict[str, Callable[[], FastAPI]] = {
    "matching": lambda: matching_app(MatchingSettings()),
    "sessions": lambda: sessions_app(SessionsSettings()),
    "notifications": lambda: notifications_app(NotificationsSettings()),
    "reporting": lambda: reporting_app(ReportingSettings()),
}
_URL_ATTR = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_EXPECTED_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/json",
}


@pytest.fixture(params=sorted(SERVICES))
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    app = SERVICES[request.param]()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as c:
        yield c


def _same_origin_urls(html: str, *, no_other_urls: bool = True) -> list[str]:
    urls = _URL_ATTR.findall(html)
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"not same-origin: {url}"
    if no_other_urls:  # nothing else on the page names another host (e.g. in the inline script)
        assert not re.search(r"https?://", html), re.findall(r"https?://\S+", html)
    return urls


async def _assert_served(client: httpx.AsyncClient, url: str) -> None:
    r = await client.get(url)
    assert r.status_code == 200, url
    suffix = "." + url.rsplit(".", 1)[-1]
    assert r.headers["content-type"].split(";")[0] == _EXPECTED_TYPES[suffix], (
        url,
        r.headers["content-type"],
    )
    assert r.content


async def test_swagger_ui_loads_only_same_origin_assets(client: httpx.AsyncClient) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    urls = _same_origin_urls(r.text)
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls)
    assert any(u.endswith("swagger-ui.css") for u in urls)
    for url in urls:
        await _assert_served(client, url)
    assert "url: '/openapi.json'" in r.text
    await _assert_served(client, "/openapi.json")


async def test_redoc_cdn_page_is_gone(client: httpx.AsyncClient) -> None:
    assert (await client.get("/redoc")).status_code == 404


async def test_asyncapi_viewer_assets_are_served(client: httpx.AsyncClient) -> None:
    for url in (ASYNCAPI_JS_URL, ASYNCAPI_CSS_URL):
        await _assert_served(client, url)
    js = (await client.get(ASYNCAPI_JS_URL)).text
    assert "AsyncApiStandalone" in js


async def test_only_the_listed_assets_are_served(client: httpx.AsyncClient) -> None:
    for path in ("/docs/assets/swagger-ui/index.html", "/docs/assets/../../errors.py", "/docs/assets/x.js"):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"] == "application/problem+json"


async def test_asyncapi_page_loads_only_same_origin_assets(client: httpx.AsyncClient) -> None:
    r = await client.get("/asyncapi")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    # The page embeds the AsyncAPI document, whose text may name URLs (schemas, servers): only the
    # page's own src/href are checked.
    urls = _same_origin_urls(r.text, no_other_urls=False)
    assert ASYNCAPI_JS_URL in urls
    assert ASYNCAPI_CSS_URL in urls
    for url in urls:
        await _assert_served(client, url)
