"""Renders a notification from its per-kind, per-locale Jinja2 template.

`templates/<locale>/<kind>.j2` defines two blocks: `subject` and `body`. The body is written once
in a light structure (paragraphs separated by blank lines, "- " list items, `link(url, label)`),
rendered twice: as plain text, and with autoescaping into the HTML part. `templates/<locale>/_common.j2`
holds the locale's shared words (footer, role and reason names), exposed to templates as `t.<block>`.
Dates and times are formatted with Babel in the recipient's locale and time zone (`dt`, `day`,
`time`, `weekday`: the day of the week as it falls in their zone); a language code is named in the
recipient's language (`language_name("de")` is "German", "Deutsch", "allemand", ...).
Counted words follow the locale's CLDR plural rules through Babel: `plural(n, one="# day",
other="# days")` picks the form for `n` ("one", "few", "many", ... falling back to "other") and puts
the number, formatted for the locale, where `#` is.

What a session message says about its calendar invite is `invite_note`, given by the caller for each
channel, because only e-mail can carry the .ics: "attached" (this e-mail carries it), "by_email" (a
chat message or inbox item whose recipient gets it in their e-mail), or None (say nothing about it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from babel import Locale
from babel.dates import format_date, format_time, get_timezone_name
from babel.numbers import format_decimal
from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from markupsafe import Markup, escape

from bridge_notifications.domain.recipients import normalise_locale
from bridge_notifications.domain.timing import zone

# A template context (Any: open-ended; each template reads its own event's fields).
Context = dict[str, Any]
InviteNote = Literal["attached", "by_email"]


def _env(html: bool) -> Environment:
    return Environment(
        loader=PackageLoader("bridge_notifications", "templates"),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


_TEXT = _env(html=False)
_HTML = _env(html=True)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    body_text: str  # without the footer: for chat and the in-app inbox


class Vocabulary:
    """The locale's shared words from `_common.j2`, rendered lazily as `t.name`."""

    def __init__(self, template: Template, ctx: Context, *, html: bool) -> None:
        self._template, self._ctx, self._html = template, ctx, html

    def __getattr__(self, name: str) -> str:
        if name.startswith("_") or name not in self._template.blocks:
            raise AttributeError(name)
        out = _block(self._template, name, self._ctx).strip()
        return Markup(out) if self._html else out

    def __getitem__(self, name: str) -> str:
        return self.__getattr__(name)


def _block(template: Template, name: str, ctx: Context) -> str:
    return "".join(template.blocks[name](template.new_context(ctx)))


def formatters(locale: str, timezone: str) -> dict[str, Callable[..., str]]:
    tz = zone(timezone)

    def dt(value: datetime) -> str:
        local = value.astimezone(tz)
        return (
            f"{format_date(local, 'full', locale=locale)} {format_time(local, 'short', locale=locale)}"
            f" ({get_timezone_name(local, 'long', locale=locale)})"
        )

    def time_only(value: datetime) -> str:
        return format_time(value.astimezone(tz), "short", locale=locale)

    def day(value: date | datetime) -> str:
        if isinstance(value, datetime):
            value = value.astimezone(tz).date()
        return format_date(value, "long", locale=locale)

    rules = Locale.parse(locale).plural_form

    def plural(n: int, **forms: str) -> str:
        text = forms.get(rules(n), forms["other"])
        return text.replace("#", format_decimal(n, locale=locale))

    def num(value: float) -> str:
        return format_decimal(value, locale=locale)

    def weekday(value: datetime) -> str:
        return format_date(value.astimezone(tz), "EEEE", locale=locale)

    names = Locale.parse(locale).languages

    def language_name(code: str) -> str:
        base = code.replace("_", "-").split("-")[0].lower()
        return str(names.get(base, code))

    return {
        "dt": dt,
        "time": time_only,
        "day": day,
        "plural": plural,
        "num": num,
        "weekday": weekday,
        "language_name": language_name,
    }


def _link_text(url: str, label: str) -> str:
    return f"{label}: {url}"


def _link_html(url: str, label: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url, label)


def _body_to_html(body: str) -> str:
    """Already-escaped body text -> paragraphs and lists."""
    parts = []
    for para in re.split(r"\n\s*\n", body.strip()):
        lines = [ln.strip() for ln in para.strip().splitlines() if ln.strip()]
        if lines and all(ln.startswith("- ") for ln in lines):
            parts.append("<ul>" + "".join(f"<li>{ln[2:]}</li>" for ln in lines) + "</ul>")
        elif lines and lines[0].startswith("## "):
            parts.append(
                f"<h3>{lines[0][3:]}</h3>" + ("<p>" + "<br>".join(lines[1:]) + "</p>" if lines[1:] else "")
            )
        else:
            parts.append("<p>" + "<br>".join(lines) + "</p>")
    return "\n".join(parts)


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def render(
    kind: str, locale: str, timezone: str, context: Context, *, invite_note: InviteNote | None = None
) -> Rendered:
    """`invite_note` defaults to None so that no message claims an attachment unless told it has one."""
    loc = normalise_locale(locale)
    base = {**context, **formatters(loc, timezone), "locale": loc, "invite_note": invite_note}

    text_tmpl = _TEXT.get_template(f"{loc}/{kind}.j2")
    text_common = _TEXT.get_template(f"{loc}/_common.j2")
    tctx = {**base, "link": _link_text}
    tctx["t"] = Vocabulary(text_common, tctx, html=False)
    subject = " ".join(_block(text_tmpl, "subject", tctx).split())
    body_text = _tidy(_block(text_tmpl, "body", tctx).replace("## ", ""))
    footer_text = _tidy(_block(text_common, "footer", tctx))

    html_tmpl = _HTML.get_template(f"{loc}/{kind}.j2")
    html_common = _HTML.get_template(f"{loc}/_common.j2")
    hctx = {**base, "link": _link_html}
    hctx["t"] = Vocabulary(html_common, hctx, html=True)
    body_html = _body_to_html(_block(html_tmpl, "body", hctx))
    footer_html = _block(html_common, "footer", hctx).strip()
    html = (
        f'<!doctype html>\n<html lang="{loc}"><head><meta charset="utf-8"><title>{escape(subject)}</title>'
        '</head>\n<body style="font-family:system-ui,sans-serif;line-height:1.5;max-width:40rem">\n'
        f"{body_html}\n<hr>\n<p><small>{footer_html}</small></p>\n</body></html>\n"
    )
    return Rendered(subject, f"{body_text}\n\n-- \n{footer_text}\n", html, body_text)
