"""Each service's OpenAPI document says what the wire carries: every error response is
application/problem+json with the one shared `Problem` schema, and FastAPI's own 422 shape is gone.
(The schema alone: no database or broker is needed to build it.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from bridge_matching.main import create_app as matching_app
from bridge_matching.settings import MatchingSettings
from bridge_notifications.main import create_app as notifications_app
from bridge_notifications.settings import NotificationsSettings
from bridge_reporting.main import create_app as reporting_app
from bridge_reporting.settings import ReportingSettings
from bridge_sessions.main import create_app as sessions_app
from bridge_sessions.settings import SessionsSettings
from bridge_shared.http.openapi import document_problems, problems
from bridge_shared.http.problems import PROBLEM_JSON, install_problem_handlers

SERVICES: dict[str, Callable[[], FastAPI]] = {
    "matching": lambda: matching_app(MatchingSettings()),
    "sessions": lambda: sessions_app(SessionsSettings()),
    "notifications": lambda: notifications_app(NotificationsSettings()),
    "reporting": lambda: reporting_app(ReportingSettings()),
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "responses" in op
    ]


@pytest.fixture(scope="module", params=sorted(SERVICES))
def schema(request: pytest.FixtureRequest) -> dict[str, Any]:
    return SERVICES[request.param]().openapi()


def test_every_error_response_is_a_problem(schema: dict[str, Any]) -> None:
    ops = _operations(schema)
    assert ops
    for method, path, op in ops:
        responses = op["responses"]
        assert "500" in responses, (method, path)
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"] == {PROBLEM_JSON: {"schema": PROBLEM_REF}}, (method, path, status)
                assert response["description"] != "Validation Error", (method, path)
        if op.get("security"):
            assert {"401", "403"} <= responses.keys(), (method, path)
            assert "WWW-Authenticate" in responses["401"]["headers"]
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in responses, (method, path)


def test_fastapi_validation_shapes_are_gone(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    assert "ValidationError" not in components
    text = str(schema)
    assert "HTTPValidationError" not in text
    problem = components["Problem"]
    assert problem["required"] == ["type", "title", "status", "instance"]
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "instance", "errors"}
    item = components["ProblemFieldError"]
    assert item["required"] == ["field", "message"]
    assert set(item["properties"]) == {"field", "message", "type"}


def test_routes_declare_what_their_use_cases_raise() -> None:
    by_op = {
        name: {(m, p): set(op["responses"]) for m, p, op in _operations(make().openapi())}
        for name, make in SERVICES.items()
    }
    assert {"404", "409"} <= by_op["matching"][("POST", "/cohorts/{cohort_id}/phase")]
    assert {"404", "409", "413", "415"} <= by_op["matching"][("POST", "/cohorts/{cohort_id}/imports")]
    assert {"404", "409"} <= by_op["matching"][("POST", "/proposals/{proposal_id}/accept")]
    assert {"404", "409", "413"} <= by_op["sessions"][
        ("POST", "/relationships/{relationship_id}/sessions/{session_id}/reschedule")
    ]
    assert "404" in by_op["notifications"][("GET", "/deliveries/{delivery_id}")]
    assert "404" in by_op["reporting"][("GET", "/reports/pairs/{pair_id}/timeline")]
    # health is public: no 401/403
    assert not {"401", "403"} & by_op["matching"][("GET", "/healthz")]


class _Body(BaseModel):
    name: str = Field(min_length=2)


async def test_the_documented_problem_is_what_the_handlers_send() -> None:
    """The members the schema lists are the members a 422 and a declared 409 carry."""
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things", responses=problems(409))
    async def create(body: _Body) -> dict[str, str]:
        return {"name": body.name}

    schema = document_problems(app.openapi())
    documented = set(schema["components"]["schemas"]["Problem"]["properties"])
    item_members = set(schema["components"]["schemas"]["ProblemFieldError"]["properties"])
    assert {"409", "422", "500"} <= set(schema["paths"]["/things"]["post"]["responses"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        r = await client.post("/things", json={"name": "x"})
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM_JSON
    body = r.json()
    assert set(body) <= documented
    assert all(set(e) <= item_members for e in body["errors"])
