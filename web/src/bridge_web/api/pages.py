"""The home page (signed out: the sign-in page), health, and the error pages."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from bridge_web.api.auth import signin_page
from bridge_web.api.deps import (
    CsrfFailed,
    CurrentUser,
    Forbidden,
    current_user,
    get_backend,
    remember_profile,
    require_user,
)
from bridge_web.api.rendering import gettext_for, render
from bridge_web.app.backend import Backend, BackendProblem, SignInRequired
from bridge_web.app.profile import profile_preferences
from bridge_web.domain.i18n import N_

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/", include_in_schema=False)
async def home(request: Request) -> Response:
    if current_user(request) is None:
        return await signin_page(request, "/")
    return render(request, "home.html")


@router.get("/account", include_in_schema=False)
async def account(
    request: Request, user: CurrentUser = Depends(require_user), backend: Backend = Depends(get_backend)
) -> Response:
    """Who is signed in, with which roles, and (for a participant) the language and time zone the
    services know for them: read with the person's own token."""
    found = await profile_preferences(backend) if user.is_participant else None
    if found is not None:
        remember_profile(request, locale=found.locale, timezone=found.timezone)
    _ = gettext_for(request)
    names = {role: _(label) for role, label in ROLE_NAMES.items()}
    return render(request, "account.html", {"profile": found, "role_names": names})


@router.get("/healthz", include_in_schema=False)
@router.get("/readyz", include_in_schema=False)
async def healthz() -> Response:
    return PlainTextResponse("ok")


ROLE_NAMES = {
    "hr_admin": N_("HR administrator (all regions)"),
    "hr_regional": N_("Regional HR"),
    "participant": N_("Participant"),
    "privacy_officer": N_("Privacy officer"),
    "service": N_("Service (read only)"),
}

ERRORS: dict[int, tuple[str, str]] = {
    400: (
        N_("The request is not valid"),
        N_("Something in the request could not be read. Go back and try again."),
    ),
    403: (N_("You cannot see this page"), N_("Your account does not have access to this page.")),
    404: (
        N_("Page not found"),
        N_("There is no page at this address. Check the link, or start from the home page."),
    ),
    405: (N_("Not allowed"), N_("This page cannot be used that way.")),
    409: (
        N_("That cannot be done now"),
        N_("Someone changed this in the meantime. Reload the page and try again."),
    ),
    422: (
        N_("The request is not valid"),
        N_("Something in the request could not be read. Go back and try again."),
    ),
    500: (
        N_("Something went wrong"),
        N_("Bridge could not complete this request. Please try again in a moment."),
    ),
    502: (
        N_("A service is not answering"),
        N_("Part of Bridge did not answer. Please try again in a moment."),
    ),
    503: (
        N_("A service is not answering"),
        N_("Part of Bridge did not answer. Please try again in a moment."),
    ),
}
CSRF_MESSAGE = N_(
    "This form has expired or did not come from Bridge. Go back, reload the page and try again."
)


def error_page(
    request: Request, status: int, *, message: str | None = None, detail: str | None = None
) -> Response:
    _ = gettext_for(request)
    heading, default = ERRORS.get(status, ERRORS[500 if status >= 500 else 400])
    return render(
        request,
        "error.html",
        {"heading": _(heading), "message": message or _(default), "detail": detail},
        status_code=status,
    )


def _sign_in_redirect(request: Request) -> Response:
    if request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        target = "/"
    return RedirectResponse(f"/signin?{urlencode({'next': target})}", status_code=303)


def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _signin(request: Request, exc: SignInRequired) -> Response:
        request.session.pop("user", None)
        return _sign_in_redirect(request)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return error_page(request, 403)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        return error_page(request, 403, message=gettext_for(request)(CSRF_MESSAGE))

    @app.exception_handler(BackendProblem)
    async def _backend(request: Request, exc: BackendProblem) -> Response:
        status = (
            exc.status if exc.status in (403, 404, 409, 502, 503) else (502 if exc.status >= 500 else 400)
        )
        return error_page(request, status, detail=exc.detail or exc.title)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return error_page(request, exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_page(request, 400)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_page(request, 500)
