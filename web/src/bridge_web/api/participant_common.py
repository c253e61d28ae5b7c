"""What the participant routers share: translating a message in Python, reading a form, redirects,
the signed-in person's time zone, and a service's refusal shown on the page."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse

from bridge_web.api.deps import remember_profile, request_timezone
from bridge_web.api.rendering import flash, translations
from bridge_web.app.backend import BackendProblem
from bridge_web.domain import participant as d


def t(request: Request, message: str, **variables: Any) -> str:
    """`message` (marked with N_) in the request's language, `%(name)s` filled in."""
    text = translations(request).gettext(message)
    return text % variables if variables else text


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def done(request: Request, url: str, message: str, **variables: Any) -> RedirectResponse:
    """Post-redirect-get with a success message."""
    flash(request, t(request, message, **variables))
    return see_other(url)


async def form_of(request: Request) -> dict[str, str]:
    """The posted form's text fields (the last value of each name)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def zone_of(request: Request) -> str:
    return request_timezone(request)


def learn_profile(request: Request, profile: dict[str, Any] | None) -> None:
    """Pages show dates in the person's own zone and language: kept from their matching profile."""
    if profile:
        remember_profile(request, locale=profile.get("locale"), timezone=profile.get("timezone"))


def problem_context(problem: BackendProblem | None, aliases: dict[str, str] | None = None) -> dict[str, Any]:
    """The template context of a refused form: the problem and its field errors by form field."""
    if problem is None:
        return {"problem": None, "errors": {}}
    return {"problem": problem, "errors": d.form_errors(problem.errors, aliases)}
