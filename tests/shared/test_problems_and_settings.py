"""RFC 9457 problem details for every error, and settings per service prefix."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field, ValidationError

from bridge_matching.settings import MatchingSettings
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.http.problems import Problem, install_problem_handlers
from bridge_shared.settings import DEV_JWT_SECRET


class Body(BaseModel):
    name: str = Field(min_length=2)
    size: int = Field(ge=1)


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def create(body: Body) -> dict[str, str]:
        return {"name": body.name}

    @app.get("/conflict")
    async def conflict() -> None:
        raise Problem(409, "Illegal transition", "from closed to draft", current_phase="closed")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    return app


async def test_validation_errors_are_field_level_problems() -> None:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.post("/things", json={"name": "x", "size": 0})
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert body["status"] == 422
        assert body["instance"] == "/things"
        assert {e["field"] for e in body["errors"]} == {"name", "size"}
        r = await c.get("/conflict")
        assert r.status_code == 409
        assert r.json()["current_phase"] == "closed"
        assert r.json()["detail"] == "from closed to draft"
        r = await c.get("/nowhere")
        assert r.status_code == 404
        assert r.json()["title"] == "Not Found"
        r = await c.get("/boom")
        assert r.status_code == 500
        assert r.headers["content-type"] == "application/problem+json"
        assert "secret internals" not in r.text


def test_each_service_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_MATCHING_HTTP_PORT", "9101")
    monkeypatch.setenv("BRIDGE_NOTIFICATIONS_SMTP_PORT", "2525")
    monkeypatch.setenv("BRIDGE_SESSIONS_HTTP_PORT", "9999")
    assert MatchingSettings().http_port == 9101
    assert NotificationsSettings().smtp_port == 2525
    assert NotificationsSettings().http_port == 8003


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_MATCHING_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="development secret"):
        MatchingSettings()
    monkeypatch.setenv("BRIDGE_MATCHING_JWT_SECRET", "a-real-secret-from-the-vault-0123456789")
    assert MatchingSettings().jwt_secret is not None
    assert MatchingSettings().jwt_secret.get_secret_value() != DEV_JWT_SECRET  # type: ignore[union-attr]
