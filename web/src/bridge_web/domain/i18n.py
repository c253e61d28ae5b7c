"""The five locales, choosing one, and the translation catalogues.

Catalogues are plain `.po` files, `locale/<locale>/LC_MESSAGES/<domain>.po` (common, participant, hr):
at start every .po of a locale is read and merged into one catalogue (compiled in memory; nothing
compiled is committed, there is no build step). English is the source language: an empty msgstr there
(or anywhere) falls back to the English text.

In Python, mark a string for extraction with `N_("...")` (it returns the string unchanged) and
translate it when rendering (`_()` in a template, or `translations.gettext` of the request).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES: tuple[str, ...] = ("en", "de", "fr", "es", "ja")
DEFAULT_LOCALE = "en"
LOCALE_NAMES: dict[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "ja": "日本語",
}
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def N_(message: str) -> str:  # noqa: N802 (the conventional name extractors look for)
    """Marks `message` for translation without translating it (translated when shown)."""
    return message


def normalize_locale(value: str | None) -> str | None:
    """One of LOCALES for a tag such as "de", "de_DE", "de-CH" or "ja-JP"; None when none fits."""
    if not value:
        return None
    language = value.strip().replace("_", "-").split("-")[0].lower()
    return language if language in LOCALES else None


def negotiate(accept_language: str | None) -> str | None:
    """The best of LOCALES for an Accept-Language header, by its q-values; None when none fits."""
    if not accept_language:
        return None
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        locale = normalize_locale(tag)
        if locale and quality > 0:
            choices.append((-quality, position, locale))
    return min(choices)[2] if choices else None


AREAS = ("participant", "hr")
"""Where a page belongs: the participant pages (and the shared ones) or HR's (`/hr/...`). The same
English text can need different words in each (a proposal "Accepted" vs a circle's, "To" as the
recipient or as "until"), so each area reads every catalogue with its own .po last: its own
translation wins, the others fill in what it lacks."""


@dataclass(frozen=True)
class Catalogues:
    """Each (locale, area)'s merged translations."""

    translations: dict[tuple[str, str], NullTranslations]

    def get(self, locale: str, area: str = "participant") -> NullTranslations:
        return (
            self.translations.get((locale, area))
            or self.translations.get((locale, "participant"))
            or self.translations[(DEFAULT_LOCALE, "participant")]
        )


def read_catalogue(locale: str, directory: Path = LOCALE_DIR, area: str | None = None) -> Catalog:
    """Every .po of `locale` merged: files in name order, the `area`'s own (`<area>.po`) last; a later
    file's translation wins."""
    merged = Catalog(locale=locale, domain="messages")
    folder = directory / locale / "LC_MESSAGES"
    paths = sorted(folder.glob("*.po"), key=lambda f: (f.stem == area, f.name)) if folder.is_dir() else []
    for path in paths:
        with path.open("rb") as fh:
            catalogue = read_po(fh, locale=locale)
        for message in catalogue:
            if not message.id:
                continue
            if message.string and (
                not isinstance(message.string, tuple) or all(message.string)
            ):  # untranslated entries fall back to the source text
                if message.id in merged:  # Catalog's own merge would keep the earlier string
                    del merged[message.id]
                merged[message.id] = message
    return merged


def load_catalogues(directory: Path = LOCALE_DIR) -> Catalogues:
    translations: dict[tuple[str, str], NullTranslations] = {}
    for locale in LOCALES:
        for area in AREAS:
            buffer = io.BytesIO()
            write_mo(buffer, read_catalogue(locale, directory, area))
            buffer.seek(0)
            translations[(locale, area)] = Translations(fp=buffer)
    return Catalogues(translations)
