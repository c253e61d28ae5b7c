"""Dates, times and numbers in the reader's locale and time zone (Babel)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_decimal

DEFAULT_TIMEZONE = "UTC"


def zone(name: str | None) -> ZoneInfo:
    """The IANA time zone `name`, or UTC when it is unknown or unset."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def parse_datetime(value: datetime | str) -> datetime:
    """An aware datetime from a datetime or an ISO 8601 string (naive values are read as UTC)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def format_datetime(
    value: datetime | str | None, *, locale: str, tz: str | None, format: str = "medium"
) -> str:
    """`value` in the reader's time zone and locale ("" for None)."""
    if value is None or value == "":
        return ""
    return babel_format_datetime(parse_datetime(value), format=format, tzinfo=zone(tz), locale=locale)


def format_date(value: date | datetime | str | None, *, locale: str, format: str = "medium") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return babel_format_date(value, format=format, locale=locale)


def format_number(value: float | int | None, *, locale: str) -> str:
    if value is None:
        return ""
    return format_decimal(value, locale=locale)
