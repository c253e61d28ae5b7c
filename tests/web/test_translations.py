"""Every string the web app marks for translation (templates and Python, all helpers' files) has a
non-empty translation in de, fr, es and ja, with the same %(placeholders)s as the English text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from bridge_web.domain.i18n import LOCALE_DIR, LOCALES, read_catalogue

PACKAGE = Path(__file__).resolve().parents[2] / "web" / "src" / "bridge_web"
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
JINJA_OPTIONS = {
    "extensions": "jinja2.ext.i18n",
    "newstyle_gettext": "true",
    "trim_blocks": "true",
    "lstrip_blocks": "true",
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def marked_strings() -> dict[str, str]:
    """msgid -> where it was first seen, over every .py and template of bridge_web."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix == ".py":
            method, options = "python", {}
        elif path.suffix == ".html" and "templates" in path.parts:
            method, options = "jinja2.ext:babel_extract", JINJA_OPTIONS
        else:
            continue
        for lineno, message, _comments, _context in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=options
        ):
            for msgid in message if isinstance(message, tuple) else (message,):
                if msgid:
                    found.setdefault(msgid, f"{path.relative_to(PACKAGE)}:{lineno}")
    return found


def test_extraction_finds_the_shells_strings() -> None:
    strings = marked_strings()
    assert "Skip to main content" in strings  # base.html
    assert "Page not found" in strings  # api/pages.py, N_()
    assert "There is a problem" in strings  # _forms.html


@pytest.mark.parametrize("locale", [loc for loc in LOCALES if loc != "en"])
def test_every_marked_string_is_translated(locale: str) -> None:
    catalogue = read_catalogue(locale, LOCALE_DIR)
    missing, wrong = [], []
    for msgid, where in marked_strings().items():
        message = catalogue.get(msgid)
        translated = message.string if message is not None else None
        if isinstance(translated, tuple):
            translated = translated[0] if all(translated) else None
        if not translated:
            missing.append(f"{where}: {msgid!r}")
        elif set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(translated)):
            wrong.append(f"{where}: {msgid!r} -> {translated!r}")
    assert not missing, f"{len(missing)} string(s) without a {locale} translation:\n" + "\n".join(missing)
    assert not wrong, f"{locale} translations whose placeholders differ:\n" + "\n".join(wrong)


def test_each_area_reads_its_own_words_first() -> None:
    """The same English word can need different words for HR's pages and the participants' (Spanish
    gender, "To" as recipient or as "until"): each area's catalogue wins on its own pages."""
    from bridge_web.domain.i18n import load_catalogues

    catalogues = load_catalogues(LOCALE_DIR)
    hr, participant = (catalogues.get("es", area).gettext for area in ("hr", "participant"))
    assert hr("Accepted") == "Aceptado" and participant("Accepted") == "Aceptada"
    ja_hr, ja_participant = (catalogues.get("ja", area).gettext for area in ("hr", "participant"))
    assert ja_hr("To") != ja_participant("To")
    # Words only one catalogue has are found from the other area too.
    assert catalogues.get("de", "hr").gettext("Language of your messages") != "Language of your messages"
