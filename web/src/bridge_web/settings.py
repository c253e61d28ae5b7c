"""The web app's settings; every field can be set as BRIDGE_WEB_<FIELD>.

The environment must be named (BRIDGE_WEB_ENVIRONMENT, else BRIDGE_ENVIRONMENT, else ENVIRONMENT), as
for the services. The development session secret and the development sign-in apply in development
only; production needs a real session secret and the company's identity provider (oidc_*).
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bridge_shared.settings import (
    DEFAULT_JWT_AUDIENCE,
    DEFAULT_JWT_ISSUER,
    DEV_JWT_SECRET,
    SERVICE_PORTS,
    weak_secret,
)

DEV_SESSION_SECRET = "bridge-dev-secret-web-session-0123456789abcdef"
"""Encrypts the session cookie in development and test only (production must set its own)."""


class DevPerson(BaseModel):
    """Someone the development sign-in page offers (the demo cohort's people)."""

    employee_id: str = Field(min_length=1, max_length=256)
    name: str = Field(default="", max_length=200)
    region: str | None = None
    locale: str | None = None


# The ignore: mypy may see pydantic-settings' BaseSettings as Any, and subclassing Any is [misc].
class WebSettings(BaseSettings):  # type: ignore[misc,unused-ignore]
    model_config = SettingsConfigDict(env_prefix="BRIDGE_WEB_", extra="ignore", env_file=None)

    environment: Literal["development", "test", "production"]
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # The address people reach the app at (the e-mails' links point here); the OIDC redirect URI is
    # `<public_base_url>/auth/callback`. Default: http://<http_host>:<http_port>.
    public_base_url: str | None = None

    # The four services' HTTP APIs.
    matching_url: str = f"http://127.0.0.1:{SERVICE_PORTS['matching']}"
    sessions_url: str = f"http://127.0.0.1:{SERVICE_PORTS['sessions']}"
    notifications_url: str = f"http://127.0.0.1:{SERVICE_PORTS['notifications']}"
    reporting_url: str = f"http://127.0.0.1:{SERVICE_PORTS['reporting']}"
    backend_timeout_seconds: float = Field(default=30.0, gt=0)

    # --- Session cookie (AES-GCM encrypted and authenticated; key derived from session_secret) ---
    session_secret: SecretStr | None = None
    session_cookie_name: str = Field(default="bridge_session", pattern=r"^[A-Za-z0-9_]{1,40}$")
    # Secure cookies: unset, on in production and whenever public_base_url is https.
    cookie_secure: bool | None = None
    # Signed out after this long without a request (and never later than the access token's expiry).
    session_idle_minutes: int = Field(default=120, ge=1, le=24 * 60)

    # --- Sign-in through the company's identity provider (OpenID Connect, code flow with PKCE) ---
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None  # unset for a public client (PKCE only)
    oidc_scopes: str = "openid profile email"
    # The audience Bridge's access tokens carry (the services' oidc_audience). Unset: the client id.
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_algorithms: list[str] = ["RS256", "ES256"]
    oidc_subject_claim: str = "sub"
    oidc_roles_claim: str = "roles"
    oidc_regions_claim: str = "regions"
    oidc_name_claim: str = "name"
    oidc_locale_claim: str = "locale"
    oidc_http_timeout_seconds: float = Field(default=10.0, gt=0)

    # --- Development sign-in (development only; never with oidc_issuer unless dev_signin is true) ---
    dev_signin: bool | None = None
    dev_people: list[DevPerson] = []
    dev_regions: list[str] = ["EMEA", "AMER", "APAC"]
    # The platform's development JWT settings (the services' jwt_*), to mint development tokens.
    jwt_secret: SecretStr | None = None
    jwt_issuer: str = DEFAULT_JWT_ISSUER
    jwt_audience: str = DEFAULT_JWT_AUDIENCE
    dev_token_ttl_seconds: int = Field(default=8 * 3600, gt=0, le=12 * 3600)

    log_level: str = "INFO"

    @model_validator(mode="before")
    @classmethod
    def _environment_is_named(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        value = data.get("environment")
        for name in ("BRIDGE_ENVIRONMENT", "ENVIRONMENT"):
            if value not in (None, ""):
                break
            value = os.environ.get(name)
        if value in (None, ""):
            raise ValueError(
                "the environment is not set: set BRIDGE_WEB_ENVIRONMENT (or BRIDGE_ENVIRONMENT) to "
                "development, test or production"
            )
        return {**data, "environment": value.strip().lower() if isinstance(value, str) else value}

    @model_validator(mode="after")
    def _secrets_and_sign_in(self) -> WebSettings:
        if self.session_secret is not None and not self.session_secret.get_secret_value():
            raise ValueError("session_secret is empty: unset it or give a real secret")
        if self.oidc_issuer and not self.oidc_client_id:
            raise ValueError("sign-in through oidc_issuer needs oidc_client_id")
        if "openid" not in self.oidc_scopes.split():
            raise ValueError("oidc_scopes must include openid")
        if self.environment == "production":
            if self.session_secret is None:
                raise ValueError("production needs session_secret (at least 32 random bytes)")
            problem = weak_secret(self.session_secret.get_secret_value())
            if problem:
                raise ValueError(f"session_secret is refused in production: {problem}")
            if not self.oidc_issuer:
                raise ValueError("production needs sign-in through the identity provider: set oidc_issuer")
            if self.dev_signin:
                raise ValueError("the development sign-in is never available in production")
            for name in ("oidc_issuer", "oidc_jwks_url", "public_base_url"):
                url = getattr(self, name)
                if url and not url.startswith("https://"):
                    raise ValueError(f"{name} must be an https:// URL in production")
        else:
            if self.session_secret is None:
                self.session_secret = SecretStr(DEV_SESSION_SECRET)
            if self.jwt_secret is None:
                self.jwt_secret = SecretStr(DEV_JWT_SECRET)
        return self

    @property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/auth/callback"

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.environment == "production" or self.base_url.startswith("https://")

    @property
    def dev_signin_enabled(self) -> bool:
        """The development sign-in: development only, and with an identity provider configured only
        when dev_signin is explicitly true."""
        if self.environment != "development":
            return False
        if self.dev_signin is not None:
            return self.dev_signin
        return not self.oidc_issuer

    @property
    def access_token_audience(self) -> str:
        return self.oidc_audience or self.oidc_client_id or ""

    def service_url(self, service: str) -> str:
        url: str = getattr(self, f"{service}_url")
        return url.rstrip("/")
