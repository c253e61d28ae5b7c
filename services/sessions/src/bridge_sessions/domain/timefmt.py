"""Time handling: everything is stored in UTC; local times are only computed for display.

A start can be given either as an aware instant or as a wall-clock time in an IANA zone. Wall-clock
times that do not exist (skipped by a DST jump) are refused; ambiguous ones (repeated when clocks go
back) resolve to the first occurrence (fold=0), as calendar clients do.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel


class LocalTimeError(ValueError):
    pass


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise LocalTimeError(f"unknown IANA time zone {name!r}") from exc


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise LocalTimeError("a time without a UTC offset is ambiguous; send an offset or a time zone")
    return value.astimezone(UTC)


def local_to_utc(wall: datetime, tz_name: str) -> datetime:
    """Wall-clock time in `tz_name` -> UTC; refuses times skipped by a DST change."""
    if wall.tzinfo is not None:
        raise LocalTimeError("local_start must not carry an offset when a time zone is given")
    tz = zone(tz_name)
    aware = wall.replace(tzinfo=tz, fold=0)
    back = aware.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None) != wall:
        raise LocalTimeError(f"{wall.isoformat()} does not exist in {tz_name} (clocks change then)")
    return aware.astimezone(UTC)


class LocalTime(BaseModel):
    """One participant's view of an interval."""

    timezone: str
    starts_at: datetime
    ends_at: datetime
    utc_offset: str
    zone_abbreviation: str
    display: str


def _offset(dt: datetime) -> str:
    off = dt.utcoffset() or timedelta(0)
    sign = "-" if off < timedelta(0) else "+"
    minutes = abs(int(off.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def render_local(starts_at: datetime, duration_minutes: int, tz_name: str) -> LocalTime:
    tz = zone(tz_name)
    start = to_utc(starts_at).astimezone(tz)
    end = (to_utc(starts_at) + timedelta(minutes=duration_minutes)).astimezone(tz)
    day_note = "" if end.date() == start.date() else f" (ends {end:%a %d %b})"
    return LocalTime(
        timezone=tz_name,
        starts_at=start,
        ends_at=end,
        utc_offset=_offset(start),
        zone_abbreviation=start.tzname() or "",
        display=f"{start:%a %d %b %Y %H:%M}-{end:%H:%M} {start.tzname()}{day_note}",
    )
