"""FastAPI dependencies every router uses: who is signed in, CSRF protection, the back-end client.

* `require_user` -> CurrentUser; signed out it raises SignInRequired, which the app answers with a
  303 to `/signin?next=<this path and query>` (an e-mail's link survives the sign-in).
* `require_hr` -> CurrentUser with an HR role, else a localised 403 page.
* `csrf_protect` on every POST: the form field `csrf_token` (or the `X-CSRF-Token` header) must be
  the session's token, else a 403 page.
* `get_backend` -> Backend bound to the signed-in person's access token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from bridge_shared.auth.principal import Role
from bridge_web.app.backend import SERVICES, Backend, SignInRequired
from bridge_web.domain.formatting import DEFAULT_TIMEZONE
from bridge_web.domain.i18n import DEFAULT_LOCALE, negotiate, normalize_locale
from bridge_web.settings import WebSettings

__all__ = [
    "CsrfFailed",
    "CurrentUser",
    "Forbidden",
    "SignInRequired",
    "csrf_protect",
    "csrf_token",
    "current_user",
    "get_backend",
    "get_settings",
    "remember_profile",
    "request_locale",
    "request_timezone",
    "require_hr",
    "require_user",
]

HR_ROLES = frozenset({Role.HR_ADMIN.value, Role.HR_REGIONAL.value})


class CsrfFailed(Exception):
    """A state-changing request without the session's CSRF token (answered with a 403 page)."""


class Forbidden(Exception):
    """The signed-in person may not see this page (answered with a localised 403 page)."""


@dataclass(frozen=True)
class CurrentUser:
    subject: str
    name: str | None
    roles: frozenset[str]
    regions: frozenset[str]
    locale: str
    access_token: str

    @property
    def is_hr(self) -> bool:
        return bool(self.roles & HR_ROLES)

    @property
    def is_hr_admin(self) -> bool:
        return Role.HR_ADMIN.value in self.roles

    @property
    def is_participant(self) -> bool:
        return Role.PARTICIPANT.value in self.roles

    @property
    def display_name(self) -> str:
        return self.name or self.subject


def get_settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def _session(request: Request) -> dict[str, Any]:
    session: dict[str, Any] = request.scope.setdefault("session", {})
    return session


def request_locale(request: Request) -> str:
    """The language of this request: the one chosen with the switcher, else the signed-in person's
    (their token's locale claim, else their profile's), else the browser's Accept-Language."""
    session = _session(request)
    user = session.get("user") or {}
    for candidate in (session.get("locale"), user.get("locale"), session.get("profile_locale")):
        locale = normalize_locale(candidate)
        if locale:
            return locale
    return negotiate(request.headers.get("accept-language")) or DEFAULT_LOCALE


def request_timezone(request: Request) -> str:
    """The signed-in person's time zone (from their profile, see remember_profile), else UTC."""
    zone = _session(request).get("timezone")
    return zone if isinstance(zone, str) and zone else DEFAULT_TIMEZONE


def remember_profile(request: Request, *, locale: str | None = None, timezone: str | None = None) -> None:
    """Keeps the person's profile locale and time zone in the session (pages show dates in that
    zone; the locale applies unless the token names one or the person chose one)."""
    session = _session(request)
    if locale is not None and normalize_locale(locale):
        session["profile_locale"] = normalize_locale(locale)
    if timezone:
        session["timezone"] = timezone


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    session = _session(request)
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def current_user(request: Request) -> CurrentUser | None:
    user = _session(request).get("user")
    if not isinstance(user, dict) or not user.get("token"):
        return None
    return CurrentUser(
        subject=str(user["sub"]),
        name=user.get("name"),
        roles=frozenset(user.get("roles") or ()),
        regions=frozenset(user.get("regions") or ()),
        locale=request_locale(request),
        access_token=str(user["token"]),
    )


async def require_user(request: Request) -> CurrentUser:
    user = current_user(request)
    if user is None:
        raise SignInRequired()
    return user


async def require_hr(user: CurrentUser = Depends(require_user)) -> CurrentUser:
    if not user.is_hr:
        raise Forbidden()
    return user


async def csrf_protect(request: Request) -> None:
    expected = _session(request).get("csrf")
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.method not in ("GET", "HEAD", "OPTIONS"):
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not expected or not sent or not secrets.compare_digest(str(expected), sent):
        raise CsrfFailed()


async def get_backend(request: Request, user: CurrentUser = Depends(require_user)) -> Backend:
    settings = get_settings(request)
    return Backend(
        request.app.state.http,
        {service: settings.service_url(service) for service in SERVICES},
        user.access_token,
    )
