"""Server-rendered pages: Jinja2 (autoescaped) with per-request translations and formatting.

`render(request, "page.html", {...})` gives every template `user`, `locale`, `tz`, `csrf_token`,
`request`, and (as globals that follow the request, so imported macros have them too) `_`,
`gettext`, `ngettext`, `format_datetime`, `format_date`, `format_number`. Templates extend
`base.html` and fill `title` and `content` (optional `head`).

Translations are "new style": `_("Hello %(name)s", name=user.name)`; the arguments are escaped, and
a literal percent sign in a translated string is written `%%`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from babel.support import NullTranslations
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from bridge_web.api.deps import csrf_token, current_user, get_settings, request_locale, request_timezone
from bridge_web.app.backend import BackendProblem
from bridge_web.domain import formatting
from bridge_web.domain.i18n import LOCALE_NAMES, LOCALES, Catalogues

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

__all__ = ["field_errors", "flash", "pop_flashes", "render", "templates", "translations"]


@dataclass(frozen=True)
class _Rendering:
    locale: str
    tz: str
    translations: NullTranslations
    csrf: str = ""


_current: ContextVar[_Rendering | None] = ContextVar("bridge_web_rendering", default=None)


def _state() -> _Rendering:
    state = _current.get()
    if state is None:
        return _Rendering("en", formatting.DEFAULT_TIMEZONE, NullTranslations())
    return state


@pass_context
def _gettext(context: Context, message: str, **variables: Any) -> str:
    text = _state().translations.gettext(message)
    value: str = Markup(text) if context.eval_ctx.autoescape else text
    return value % variables if variables else value


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int, **variables: Any) -> str:
    variables.setdefault("num", n)
    text = _state().translations.ngettext(singular, plural, n)
    value: str = Markup(text) if context.eval_ctx.autoescape else text
    return value % variables


def _format_datetime(value: datetime | str | None, tz: str | None = None, format: str = "medium") -> str:
    state = _state()
    return formatting.format_datetime(value, locale=state.locale, tz=tz or state.tz, format=format)


def _format_date(value: date | datetime | str | None, format: str = "medium") -> str:
    return formatting.format_date(value, locale=_state().locale, format=format)


def _csrf_token_value() -> str:
    return _state().csrf


def _format_number(value: float | int | None) -> str:
    return formatting.format_number(value, locale=_state().locale)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        gettext=_gettext,
        _=_gettext,
        ngettext=_ngettext,
        format_datetime=_format_datetime,
        format_date=_format_date,
        format_number=_format_number,
        csrf_token_value=_csrf_token_value,
        LOCALES=LOCALES,
        LOCALE_NAMES=LOCALE_NAMES,
    )
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    return env


templates = _environment()


def translations(request: Request) -> NullTranslations:
    """This request's translations, for Python code: `translations(request).gettext(N_text)`."""
    catalogues: Catalogues = request.app.state.catalogues
    area = "hr" if request.url.path == "/hr" or request.url.path.startswith("/hr/") else "participant"
    return catalogues.get(request_locale(request), area)


def gettext_for(request: Request) -> Callable[[str], str]:
    return translations(request).gettext


def flash(request: Request, message: str, kind: str = "success") -> None:
    """A message shown once, on the next page rendered (after a POST-redirect-GET)."""
    session: dict[str, Any] = request.scope.setdefault("session", {})
    session.setdefault("flash", []).append([kind if kind in ("success", "error") else "success", message])


def pop_flashes(request: Request) -> list[tuple[str, str]]:
    session: dict[str, Any] = request.scope.setdefault("session", {})
    return [(str(kind), str(message)) for kind, message in session.pop("flash", [])]


def field_errors(problem: BackendProblem | None) -> dict[str, list[str]]:
    """A service's field errors by form field name: "body.end_date", "end_date" and
    "availability.0.start" become "end_date", "end_date" and "availability"."""
    out: dict[str, list[str]] = {}
    if problem is None:
        return out
    for error in problem.errors:
        parts = [p for p in error.field.split(".") if p]
        if parts and parts[0] in ("body", "query", "path"):
            parts = parts[1:]
        name = parts[0] if parts else ""
        out.setdefault(name, []).append(error.message)
    return out


def render(
    request: Request,
    template_name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    settings = get_settings(request)
    locale = request_locale(request)
    state = _Rendering(locale, request_timezone(request), translations(request), csrf_token(request))
    values: dict[str, Any] = {
        "request": request,
        "user": current_user(request),
        "locale": locale,
        "tz": state.tz,
        "csrf_token": state.csrf,
        "flashes": pop_flashes(request),
        "dev_signin": settings.dev_signin_enabled,
        "path": request.url.path,
    }
    values.update(context or {})
    token = _current.set(state)
    try:
        html = templates.get_template(template_name).render(values)
    finally:
        _current.reset(token)
    return HTMLResponse(html, status_code=status_code, headers={"Content-Language": locale})
