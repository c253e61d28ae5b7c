"""The web app's back-end client (`bridge_web.app.backend`) and what a page shows when a service
fails: ids from the browser never climb to another resource (a path with an empty, `.` or `..`
segment, or `%`, `?`, `#`, a backslash is refused as not found, before any call); an id that is no id
at all (`/proposals/not-a-uuid`) is the not-found page, not an error; a service that cannot be reached
is the localised "a service is not answering" page with 503 (refused) or 502 (no answer in time),
never a 500 with a trace."""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from bridge_devstack.ports import free_port
from bridge_web.app.backend import Backend, BackendProblem, ServiceUnavailable, problem_from, safe_path
from bridge_web.main import create_app
from bridge_web.settings import WebSettings

BASE_URLS = {s: f"http://{s}.invalid" for s in ("matching", "sessions", "notifications", "reporting")}


def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no call may leave for {request.url}")


@pytest.mark.parametrize(
    "path",
    [
        "/relationships/..",
        "/relationships/../cohorts",
        "/relationships/./x",
        "/relationships//x",
        "/relationships/x/",
        "/relationships/..%2Fcohorts",
        "/relationships/%2e%2e",
        "/proposals/a?b=1",
        "/proposals/a#b",
        "/proposals/..\\cohorts",
        "/proposals/a\\b",
        "",
    ],
)
async def test_a_path_with_an_unsafe_segment_is_not_found_before_any_call(path: str) -> None:
    with pytest.raises(BackendProblem) as refused:
        safe_path(path)
    assert refused.value.status == 404 and refused.value.title == "Not found"
    async with httpx.AsyncClient(transport=httpx.MockTransport(_no_network)) as http:
        backend = Backend(http, BASE_URLS, "token")
        for call in (backend.get, backend.post, backend.delete, backend.stream):
            with pytest.raises(BackendProblem) as again:
                await call("matching", path)
            assert again.value.status == 404


async def test_plain_paths_go_to_the_service() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"ok": True})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        backend = Backend(http, BASE_URLS, "token")
        rid = str(uuid.uuid4())
        assert await backend.get("matching", f"/relationships/{rid}", params={"a": "b"}) == {"ok": True}
        await backend.get("reporting", "reports/exports/pairs.csv")
        await backend.get("matching", "/circle-runs/r-1/circles/c_2/members/E1001")
    assert seen == [
        f"http://matching.invalid/relationships/{rid}?a=b",
        "http://reporting.invalid/reports/exports/pairs.csv",
        "http://matching.invalid/circle-runs/r-1/circles/c_2/members/E1001",
    ]


def test_an_id_that_is_no_uuid_is_not_found_but_other_invalid_requests_stay_invalid() -> None:
    def problem(*errors: dict[str, str]) -> BackendProblem:
        body = {"title": "Invalid request", "detail": "x", "errors": list(errors)}
        return problem_from(httpx.Response(422, json=body))

    not_an_id = problem(
        {"field": "proposal_id", "message": "Input should be a valid UUID", "type": "uuid_parsing"}
    )
    assert (not_an_id.status, not_an_id.title) == (404, "Not found")
    mixed = problem(
        {"field": "proposal_id", "message": "bad", "type": "uuid_parsing"},
        {"field": "reason", "message": "too long", "type": "string_too_long"},
    )
    assert mixed.status == 422 and [e.field for e in mixed.errors] == ["proposal_id", "reason"]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


async def test_a_service_that_refuses_or_does_not_answer_is_unavailable(silent_port: int) -> None:
    closed = free_port()
    urls = {
        **BASE_URLS,
        "matching": f"http://127.0.0.1:{closed}",
        "sessions": f"http://127.0.0.1:{silent_port}",
    }
    async with httpx.AsyncClient(timeout=0.5) as http:
        backend = Backend(http, urls, "token")
        with pytest.raises(ServiceUnavailable) as refused:
            await backend.get("matching", "/cohorts")
        assert refused.value.status == 503 and "matching" in str(refused.value)
        with pytest.raises(ServiceUnavailable) as silent:
            await backend.post("sessions", "/relationships/x/sessions", json={})
        assert silent.value.status == 502 and "sessions" in str(silent.value)
        with pytest.raises(ServiceUnavailable):
            await backend.stream("matching", "/reports/exports/pairs.csv")


# --- Pages, in-process (httpx's ASGITransport), with matching's address a closed port --------------------


@pytest.fixture
async def offline_web() -> AsyncIterator[httpx.AsyncClient]:
    closed = f"http://127.0.0.1:{free_port()}"
    settings = WebSettings(
        environment="development",
        matching_url=closed,
        sessions_url=closed,
        notifications_url=closed,
        reporting_url=closed,
        backend_timeout_seconds=2,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        await app.state.http.aclose()


async def dev_sign_in(client: httpx.AsyncClient, role: str, **fields: str) -> None:
    page = await client.get("/")  # signed out the sign-in page, signed in home: both with the token
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    done = await client.post("/signin/dev", data={"csrf_token": token.group(1), "role": role, **fields})
    assert done.status_code == 303, done.text


def _unavailable_page(answer: httpx.Response, heading: str) -> None:
    assert answer.status_code == 503, (answer.status_code, answer.text[:500])
    assert answer.headers["content-type"].startswith("text/html")
    assert f"<h1>{heading}</h1>" in answer.text, answer.text
    assert "Traceback" not in answer.text and "ConnectError" not in answer.text


async def test_pages_say_a_service_is_not_answering_when_it_cannot_be_reached(
    offline_web: httpx.AsyncClient,
) -> None:
    await dev_sign_in(offline_web, "hr_admin")
    _unavailable_page(await offline_web.get("/hr/cohorts"), "Something went wrong")
    await dev_sign_in(offline_web, "participant", employee_id="E4242")
    first = await offline_web.get(f"/proposals/{uuid.uuid4()}")
    _unavailable_page(first, "A service is not answering")
    # In the participant's language, too (the error page has the language switcher).
    token = re.search(r'name="csrf_token" value="([^"]+)"', first.text)
    assert token
    await offline_web.post("/locale", data={"csrf_token": token.group(1), "locale": "de", "next": "/"})
    answer = await offline_web.get(f"/proposals/{uuid.uuid4()}")
    assert answer.status_code == 503 and '<html lang="de">' in answer.text


# --- Against the platform: ids from the browser ---------------------------------------------------------


@pytest.mark.e2e
async def test_odd_ids_answer_the_not_found_page(web_platform: Any) -> None:
    async with httpx.AsyncClient(base_url=web_platform.base_url, timeout=30) as client:
        await dev_sign_in(client, "participant", employee_id=f"E{uuid.uuid4().hex[:6]}")
        for path in (
            "/relationships/..%2Fcohorts",
            "/relationships/%2E%2E",
            "/relationships/a%3Fb",
            "/proposals/not-a-uuid",
            "/proposals/%2E",
            f"/circles/{uuid.uuid4()}%5C..",
        ):
            answer = await client.get(path, follow_redirects=True)  # a circle: by its invitation
            assert answer.status_code == 404, (path, answer.status_code, answer.text[:300])
            assert "Not found" in answer.text or "Page not found" in answer.text, path
            assert "Traceback" not in answer.text
