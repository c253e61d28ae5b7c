"""Renders a notification's subject, text and HTML from per-kind, per-locale Jinja2 templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound, select_autoescape

DEFAULT_LOCALE = "en"

_env = Environment(
    loader=PackageLoader("bridge_notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


def _template(locale: str, kind: str, part: str) -> Any:
    for loc in (locale, locale.split("-")[0], DEFAULT_LOCALE):
        try:
            return _env.get_template(f"{loc}/{kind}.{part}.j2")
        except TemplateNotFound:
            continue
    raise TemplateNotFound(f"{kind}.{part}")


def render(kind: str, locale: str, context: dict[str, Any]) -> Rendered:
    subject = _template(locale, kind, "subject").render(context).strip()
    text = _template(locale, kind, "txt").render(context)
    try:
        html = _template(locale, kind, "html").render(context)
    except TemplateNotFound:
        html = None
    return Rendered(subject, text, html)
