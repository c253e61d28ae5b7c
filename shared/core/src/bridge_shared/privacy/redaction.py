"""Removing a person's identifiers from text other people wrote (a partner's shared note that names
them, a message rendered for the partner, an explanation, an import report)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bridge_shared.privacy.erased import ERASED_TEXT


def needles_for(*values: str | None) -> list[str]:
    """The strings to remove: each value, and each word of a name of 3+ letters (a first name on its
    own names the person too). Longest first, so a full name goes before its parts."""
    out: set[str] = set()
    for v in values:
        if not v or not v.strip():
            continue
        out.add(v.strip())
        if "@" not in v:
            out.update(w for w in re.split(r"[\s,]+", v) if len(w) >= 3)
    return sorted(out, key=len, reverse=True)


def _pattern(needles: Iterable[str]) -> re.Pattern[str] | None:
    parts = [re.escape(n) for n in needles if n]
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def redact(text: str, needles: Iterable[str], replacement: str = ERASED_TEXT) -> str:
    """`text` with every whole-word occurrence of a needle (case-insensitive) replaced."""
    pattern = _pattern(needles)
    return text if pattern is None else pattern.sub(replacement, text)


def redact_json(value: Any, needles: Iterable[str], replacement: str = ERASED_TEXT) -> Any:
    """A JSON value (dicts, lists, strings) with every string redacted, keys included."""
    pattern = _pattern(list(needles))
    if pattern is None:
        return value

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return pattern.sub(replacement, v)
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {walk(k): walk(x) for k, x in v.items()}
        return v

    return walk(value)
