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


STRONG = "Kq3v9XzR7wLp2mN8sT4yB6cF1hJ5dG0aE-vault"


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """BRIDGE_MATCHING_ENVIRONMENT=production (Kafka TLS waived: its rules are tested elsewhere)."""
    monkeypatch.setenv("BRIDGE_MATCHING_ENVIRONMENT", "production")
    monkeypatch.setenv("BRIDGE_MATCHING_KAFKA_ALLOW_PLAINTEXT_IN_PRODUCTION", "true")
    # matching's erasure-ledger key (its own rules: tests/matching/test_privacy_settings.py)
    monkeypatch.setenv("BRIDGE_MATCHING_PRIVACY_PEPPER", "pP7mQ2xV9kR4tW8zL1nB5cJ3hG6dF0sA-ledger")
    return monkeypatch


def test_production_refuses_the_development_secret(production: pytest.MonkeyPatch) -> None:
    # No secret at all: the development default does not apply in production.
    with pytest.raises(ValidationError, match="production needs a token key"):
        MatchingSettings()
    production.setenv("BRIDGE_MATCHING_JWT_SECRET", DEV_JWT_SECRET)
    with pytest.raises(ValidationError, match="placeholder or the development secret"):
        MatchingSettings()
    production.setenv("BRIDGE_MATCHING_JWT_SECRET", STRONG)
    secret = MatchingSettings().jwt_secret
    assert secret is not None
    assert secret.get_secret_value() == STRONG


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("x", "shorter than 32 bytes"),
        ("changeme", "shorter than 32 bytes"),
        ("changeme" * 5, "placeholder"),
        ("CHANGEME-please-0123456789abcdefghijkl", "placeholder"),
        (DEV_JWT_SECRET + " ", "whitespace"),
        (" " + STRONG, "whitespace"),
        (DEV_JWT_SECRET.upper(), "placeholder"),
        ("a" * 40, "distinct characters"),
        ("0123456789abcdef0123456789abcde", "shorter than 32 bytes"),  # 31 bytes
    ],
)
def test_production_refuses_weak_or_placeholder_secrets(
    production: pytest.MonkeyPatch, secret: str, reason: str
) -> None:
    production.setenv("BRIDGE_MATCHING_JWT_SECRET", secret)
    with pytest.raises(ValidationError, match=reason):
        MatchingSettings()


def test_an_empty_secret_is_refused_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_MATCHING_ENVIRONMENT", "development")
    monkeypatch.setenv("BRIDGE_MATCHING_JWT_SECRET", "")
    with pytest.raises(ValidationError, match="jwt_secret is empty"):
        MatchingSettings()


def test_the_environment_must_be_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BRIDGE_MATCHING_ENVIRONMENT", "BRIDGE_ENVIRONMENT", "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    # Unset: no silent development secret; the service refuses to start, naming the variable.
    with pytest.raises(ValidationError, match="BRIDGE_MATCHING_ENVIRONMENT"):
        MatchingSettings()
    # The plain variables count, the service's own wins, and the value's case does not matter.
    monkeypatch.setenv("ENVIRONMENT", "Development")
    assert MatchingSettings().environment == "development"
    assert MatchingSettings().jwt_secret is not None
    assert MatchingSettings().jwt_secret.get_secret_value() == DEV_JWT_SECRET  # type: ignore[union-attr]
    monkeypatch.setenv("BRIDGE_ENVIRONMENT", "test")
    assert MatchingSettings().environment == "test"
    monkeypatch.setenv("BRIDGE_MATCHING_ENVIRONMENT", "production")
    monkeypatch.setenv("BRIDGE_MATCHING_KAFKA_ALLOW_PLAINTEXT_IN_PRODUCTION", "true")
    with pytest.raises(ValidationError, match="production needs a token key"):
        MatchingSettings()
    monkeypatch.setenv("BRIDGE_MATCHING_ENVIRONMENT", "staging")
    with pytest.raises(ValidationError, match="environment"):
        MatchingSettings()


def test_production_with_enterprise_sign_in_only_needs_no_secret(production: pytest.MonkeyPatch) -> None:
    production.setenv("BRIDGE_MATCHING_OIDC_ISSUER", "https://login.example.com/tenant/v2.0")
    with pytest.raises(ValidationError, match="oidc_issuer and oidc_audience"):
        MatchingSettings()
    production.setenv("BRIDGE_MATCHING_OIDC_AUDIENCE", "api://bridge")
    settings = MatchingSettings()
    assert settings.jwt_secret is None
    assert settings.oidc_algorithms == ["RS256", "ES256"]
    production.setenv("BRIDGE_MATCHING_OIDC_JWKS_URL", "http://login.example.com/keys")
    with pytest.raises(ValidationError, match="https"):
        MatchingSettings()
    production.delenv("BRIDGE_MATCHING_OIDC_JWKS_URL")
    production.setenv("BRIDGE_MATCHING_OIDC_ALGORITHMS", '["RS256", "HS256"]')
    with pytest.raises(ValidationError, match="asymmetric"):
        MatchingSettings()


def test_token_lifetime_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_MATCHING_ENVIRONMENT", "test")
    assert MatchingSettings().jwt_max_lifetime_seconds == 12 * 3600
    monkeypatch.setenv("BRIDGE_MATCHING_JWT_MAX_LIFETIME_SECONDS", "3600")
    assert MatchingSettings().jwt_max_lifetime_seconds == 3600
    monkeypatch.setenv("BRIDGE_MATCHING_JWT_MAX_LIFETIME_SECONDS", "0")
    with pytest.raises(ValidationError, match="jwt_max_lifetime_seconds"):
        MatchingSettings()
