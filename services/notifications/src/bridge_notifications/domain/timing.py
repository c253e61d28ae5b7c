"""Local-time rules: quiet hours and "next 08:00 local", correct across DST changes.

All inputs and outputs are aware UTC instants; wall-clock rules are evaluated in the recipient's
IANA zone. A quiet window [start, end) may wrap midnight (22:00-07:00). When the window's end falls
in a spring-forward gap, the first allowed instant is the transition itself (the first wall time at
or after `end` that exists); when it falls in a fall-back overlap, the first occurrence is used.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def in_quiet_hours(instant: datetime, tz: ZoneInfo, start: time | None, end: time | None) -> bool:
    if start is None or end is None or start == end:
        return False
    local = instant.astimezone(tz).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _first_instant_at_or_after_wall(day: datetime, wall: time, tz: ZoneInfo) -> datetime:
    """The first instant on local date `day` whose wall time is >= `wall` (handles gaps and folds)."""
    naive = datetime.combine(day.date(), wall)
    early = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    late = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    # In an overlap fold=0 is the first occurrence; in a gap both candidates are wrong by the gap.
    for candidate in sorted({early, late}):
        if candidate.astimezone(tz).replace(tzinfo=None) == naive:
            return candidate
    # Gap: wall time does not exist; the transition instant is the first wall time after it.
    lo, hi = min(early, late), max(early, late)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


def next_allowed(instant: datetime, tz: ZoneInfo, start: time | None, end: time | None) -> datetime:
    """`instant` if it is outside quiet hours, else the first instant at which they end."""
    if not in_quiet_hours(instant, tz, start, end):
        return instant
    assert end is not None
    local = instant.astimezone(tz)
    for offset in (0, 1):
        day = local + timedelta(days=offset)
        candidate = _first_instant_at_or_after_wall(day.replace(tzinfo=None), end, tz)
        if candidate > instant and not in_quiet_hours(candidate, tz, start, end):
            return candidate
    return instant  # unreachable for a well-formed window


def next_local_time(instant: datetime, tz: ZoneInfo, at: time) -> datetime:
    """The first instant >= `instant` whose local wall time is `at` (e.g. the next 08:00 digest)."""
    local = instant.astimezone(tz)
    for offset in (0, 1, 2):
        day = (local + timedelta(days=offset)).replace(tzinfo=None)
        candidate = _first_instant_at_or_after_wall(day, at, tz)
        if candidate >= instant:
            return candidate
    raise AssertionError("unreachable")


def week_start(instant: datetime, tz: ZoneInfo, weekday: int, at: time) -> datetime:
    """The most recent instant <= `instant` that is `weekday` (0 = Monday) at local time `at`."""
    local = instant.astimezone(tz)
    days_back = (local.weekday() - weekday) % 7
    for extra in (0, 7):
        day = (local - timedelta(days=days_back + extra)).replace(tzinfo=None)
        candidate = _first_instant_at_or_after_wall(day, at, tz)
        if candidate <= instant:
            return candidate
    raise AssertionError("unreachable")
