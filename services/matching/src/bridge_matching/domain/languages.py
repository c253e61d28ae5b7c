"""Language codes as the engine compares them: the lower-case primary language subtag of a BCP 47 tag.

A profile's languages are BCP 47 tags (RFC 5646): `en`, `en-GB`, `zh-Hant-TW`, `yue`. The engine
compares languages by their primary subtag only, so every tag is stored as that subtag, lower-case:
`en-GB` and `EN-us` become `en`. Deprecated codes take their current form from Unicode CLDR's alias
data (`iw` -> `he`, `eng` -> `en`, `tl` -> `fil`), so two spellings of one language match.

Accepted primary subtags: the ISO 639-1 (two-letter) and ISO 639-2/639-3 (three-letter) codes that
CLDR names, read from Babel's locale data (about 640 languages). Refused: anything else (`English`,
`klingon`, `xx`), private-use tags (`x-...`), and the codes that name no language (`und`, `mul`,
`zxx`, `mis`). `_` is read as `-` (`en_GB`, as POSIX locales write it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from babel import Locale
from babel.core import get_global

# RFC 5646 `langtag` (an extlang is kept with the primary subtag), plus its grandfathered `i-` tags.
_LANGTAG = re.compile(
    r"""^(?P<language>[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4}|[a-z]{5,8})
        (?:-[a-z]{4})?                                   # script
        (?:-(?:[a-z]{2}|\d{3}))?                         # region
        (?:-(?:[a-z\d]{5,8}|\d[a-z\d]{3}))*              # variants
        (?:-[a-wyz\d](?:-[a-z\d]{2,8})+)*                # extensions
        (?:-x(?:-[a-z\d]{1,8})+)?$                       # private use
    """,
    re.VERBOSE,
)
_GRANDFATHERED = {"i-klingon": "tlh", "i-navajo": "nv", "i-lux": "lb", "i-hak": "hak", "art-lojban": "jbo"}
_NOT_A_LANGUAGE = frozenset({"und", "mul", "zxx", "mis"})

ACCEPTED = (
    "an ISO 639-1 or ISO 639-3 language code (en, de, ja, yue, fil), optionally a BCP 47 tag with "
    "script or region (en-GB, zh-Hant)"
)


@dataclass(frozen=True, slots=True)
class Normalised:
    code: str  # the lower-case primary language subtag
    changed: bool  # whether it differs from the tag as written (after trimming)


class UnknownLanguage(ValueError):
    """Not a BCP 47 tag of a known language; the message says what is accepted."""


@cache
def _names() -> dict[str, str]:
    """Primary language code -> its English name, for every language CLDR names."""
    return {
        code: name
        for code, name in Locale("en").languages.items()
        if "_" not in code and code not in _NOT_A_LANGUAGE
    }


@cache
def _aliases() -> dict[str, str]:
    """Deprecated or three-letter code -> its current primary subtag (CLDR's language aliases)."""
    out: dict[str, str] = {}
    for old, new in get_global("language_aliases").items():
        if "_" in old:
            continue
        primary = new.split("_")[0].lower()
        if primary in _names():
            out[old.lower()] = primary
    return out


@cache
def _by_name() -> dict[str, str]:
    """English language name (case-folded) -> code, to suggest the code for `English`."""
    return {name.casefold(): code for code, name in _names().items()}


def known_codes() -> frozenset[str]:
    return frozenset(_names())


@lru_cache(maxsize=4096)  # an HRIS file repeats a few tags on every row
def normalise(tag: str) -> Normalised:
    """The lower-case primary language subtag of `tag`; UnknownLanguage when it is no known language."""
    written = tag.strip()
    lowered = written.replace("_", "-").lower()
    lowered = _GRANDFATHERED.get(lowered, lowered)
    m = _LANGTAG.match(lowered)
    # an extended language subtag names the language itself: zh-yue is yue (RFC 5646, 2.2.2)
    primary = m["language"].split("-")[-1] if m else None
    code = None if primary is None else _aliases().get(primary, primary)
    if code is None or code not in _names():
        raise UnknownLanguage(_unknown(written))
    return Normalised(code, code != written)


def _unknown(written: str) -> str:
    hint = ""
    guess = _by_name().get(written.casefold())
    if guess is not None:
        hint = f" (for {_names()[guess]}, write {guess!r})"
    elif any(sep in written for sep in ",/ "):
        hint = " (several languages are separated by ';' or '|')"
    return f"{written!r} is not a known language code{hint}; expected {ACCEPTED}"
