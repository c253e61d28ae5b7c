"""Sign-in and sign-out routes, and the language switcher."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from bridge_shared.auth.principal import Role
from bridge_web.api.deps import csrf_protect, current_user, get_settings, remember_profile, request_locale
from bridge_web.api.rendering import flash, gettext_for, render
from bridge_web.app.auth import OidcClient, SignedIn, SignInFailed, dev_sign_in, safe_next
from bridge_web.app.backend import SERVICES, Backend
from bridge_web.app.profile import profile_preferences
from bridge_web.domain.i18n import LOCALE_NAMES, N_, normalize_locale

router = APIRouter()


def _oidc(request: Request) -> OidcClient | None:
    client: OidcClient | None = request.app.state.oidc
    return client


def _sign_in_page(
    request: Request, next_path: str, *, error: str | None = None, status_code: int = 200, **extra: Any
) -> Response:
    settings = get_settings(request)
    return render(
        request,
        "signin.html",
        {
            "next": next_path,
            "oidc": _oidc(request) is not None,
            "people": settings.dev_people,
            "regions": [(r, r) for r in settings.dev_regions],
            "error": error,
            **extra,
        },
        status_code=status_code,
    )


async def _start_session(request: Request, signed_in: SignedIn) -> None:
    """The person is signed in: a fresh session (new CSRF token), keeping only the chosen language.
    A participant's profile language and time zone are read from the services with their token."""
    locale = request.session.get("locale")
    request.session.clear()
    if locale:
        request.session["locale"] = locale
    request.session["user"] = signed_in.to_session()
    request.session["seen"] = int(time.time())
    if Role.PARTICIPANT.value in signed_in.roles:
        settings = get_settings(request)
        backend = Backend(
            request.app.state.http,
            {service: settings.service_url(service) for service in SERVICES},
            signed_in.access_token,
        )
        found = await profile_preferences(backend)
        if found is not None:
            remember_profile(request, locale=found.locale, timezone=found.timezone)


@router.get("/signin", include_in_schema=False)
async def signin_page(request: Request, next: str = "/") -> Response:
    target = safe_next(next)
    if current_user(request) is not None:
        return RedirectResponse(target, status_code=303)
    return _sign_in_page(request, target)


@router.get("/auth/login", include_in_schema=False)
async def oidc_login(request: Request, next: str = "/") -> Response:
    client = _oidc(request)
    if client is None:
        return RedirectResponse("/signin", status_code=303)
    try:
        url, pending = await client.start(safe_next(next), locale=request_locale(request))
    except SignInFailed as exc:
        return _sign_in_page(request, safe_next(next), error=str(exc), status_code=503)
    request.session["signin"] = pending
    return RedirectResponse(url, status_code=303)


@router.get("/auth/callback", include_in_schema=False)
async def oidc_callback(request: Request) -> Response:
    client = _oidc(request)
    if client is None:
        return RedirectResponse("/signin", status_code=303)
    pending = request.session.pop("signin", None)
    try:
        signed_in, target = await client.finish(dict(request.query_params), pending)
    except SignInFailed as exc:
        next_path = safe_next(pending.get("next")) if isinstance(pending, dict) else "/"
        return _sign_in_page(request, next_path, error=str(exc), status_code=400)
    await _start_session(request, signed_in)
    return RedirectResponse(target, status_code=303)


@router.post("/signin/dev", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def dev_signin(
    request: Request,
    role: str = Form(...),
    next: str = Form("/"),
    employee_id: str | None = Form(None),
    region: str | None = Form(None),
) -> Response:
    settings = get_settings(request)
    target = safe_next(next)
    if not settings.dev_signin_enabled:
        return RedirectResponse(f"/signin?{urlencode({'next': target})}", status_code=303)
    try:
        signed_in = dev_sign_in(settings, role=role, employee_id=employee_id, region=region)
    except SignInFailed as exc:
        _ = gettext_for(request)
        message = _(str(exc))
        errors = {"employee_errors": [message]} if role == "participant" else {}
        return _sign_in_page(request, target, error=message, status_code=400, **errors)
    await _start_session(request, signed_in)
    return RedirectResponse(target, status_code=303)


@router.post("/signout", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def signout(request: Request) -> Response:
    settings = get_settings(request)
    user = request.session.get("user") or {}
    was_oidc = user.get("via") == "oidc"
    id_token = user.get("id_token")
    locale = request.session.get("locale")
    request.session.clear()
    if locale:
        request.session["locale"] = locale
    client = _oidc(request)
    if was_oidc and client is not None:
        end_session = await client.end_session_url(
            f"{settings.base_url}/signed-out", id_token if isinstance(id_token, str) else None
        )
        if end_session:
            return RedirectResponse(end_session, status_code=303)
    return RedirectResponse("/signed-out", status_code=303)


@router.get("/signed-out", include_in_schema=False)
async def signed_out(request: Request) -> Response:
    if current_user(request) is not None:
        return RedirectResponse("/", status_code=303)
    return render(request, "signed_out.html")


LOCALE_SAVED = N_("The language is now %(language)s.")


@router.post("/locale", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def choose_locale(request: Request, locale: str = Form(...), next: str = Form("/")) -> Response:
    chosen = normalize_locale(locale)
    if chosen:
        request.session["locale"] = chosen
        flash(request, gettext_for(request)(LOCALE_SAVED) % {"language": LOCALE_NAMES[chosen]})
    return RedirectResponse(safe_next(next), status_code=303)


# The development sign-in's messages (app/auth.py raises them in English; shown translated).
_MESSAGES = (
    N_("The development sign-in is not available here."),
    N_("Choose a region for regional HR."),
    N_("Enter an employee id."),
    N_("Choose a role."),
)
