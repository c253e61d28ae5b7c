"""Time correctness: UTC storage, local rendering per participant, DST transitions (EU and US
change on different dates), pairs many zones apart, non-existent and ambiguous wall-clock times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from bridge_shared.scheduling.clock import FrozenClock
from tests.service_harness import RunningService
from tests.sessions.conftest import START, Pair, form_pair

pytestmark = pytest.mark.integration


async def schedule(svc: RunningService, pair: Pair, **when: object) -> dict[str, object]:
    r = await svc.client.post(f"{pair.base}/sessions", headers=pair.as_mentor, json=when)
    assert r.status_code == 201, r.text
    out: dict[str, object] = r.json()
    return out


def local(s: dict, side: str) -> str:  # type: ignore[type-arg]
    return str(s["local"][side]["starts_at"])


def assert_starts(s: dict, utc: str, side: str, local_start: str) -> None:  # type: ignore[type-arg]
    """The session starts at `utc`, which is `local_start` in `side`'s zone."""
    assert (s["starts_at"], local(s, side)) == (utc, local_start)


async def test_berlin_0900_the_week_before_and_after_the_march_change(
    svc: RunningService, clock: FrozenClock
) -> None:
    clock.set(START)
    pair = await form_pair(svc, mentor_tz="Europe/Berlin", mentee_tz="Europe/Berlin")
    before = await schedule(svc, pair, local_start="2025-03-24T09:00", timezone="Europe/Berlin")
    after = await schedule(svc, pair, local_start="2025-03-31T09:00", timezone="Europe/Berlin")
    assert_starts(before, "2025-03-24T08:00:00Z", "mentor", "2025-03-24T09:00:00+01:00")
    assert_starts(after, "2025-03-31T07:00:00Z", "mentor", "2025-03-31T09:00:00+02:00")
    assert before["local"]["mentee"]["zone_abbreviation"] == "CET"  # type: ignore[index]
    assert after["local"]["mentee"]["zone_abbreviation"] == "CEST"  # type: ignore[index]
    ics = (
        await svc.client.get(f"{pair.base}/sessions/{after['id']}/invite.ics", headers=pair.as_mentee)
    ).text
    ev = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
    assert ev["DTSTART"].dt == datetime(2025, 3, 31, 7, tzinfo=UTC) and "DTSTART:20250331T070000Z" in ics
    stored = await svc.runtime.pool.fetchval(
        "SELECT starts_at FROM sessions WHERE id = $1::uuid", after["id"]
    )
    assert stored == datetime(2025, 3, 31, 7, tzinfo=UTC)


async def test_us_and_eu_change_on_different_dates(svc: RunningService, clock: FrozenClock) -> None:
    """09:00 in Los Angeles is 18:00 in Berlin, except between the US change (9 Mar 2025) and the EU
    change (30 Mar 2025), when it is 17:00."""
    clock.set(START)
    pair = await form_pair(svc, mentor_tz="America/Los_Angeles", mentee_tz="Europe/Berlin")
    seen = {}
    for day in ("2025-03-05", "2025-03-12", "2025-04-02"):
        s = await schedule(svc, pair, local_start=f"{day}T09:00", timezone="America/Los_Angeles")
        seen[day] = (s["starts_at"], local(s, "mentor")[11:25], local(s, "mentee")[11:25])
    assert seen == {
        "2025-03-05": ("2025-03-05T17:00:00Z", "09:00:00-08:00", "18:00:00+01:00"),
        "2025-03-12": ("2025-03-12T16:00:00Z", "09:00:00-07:00", "17:00:00+01:00"),
        "2025-04-02": ("2025-04-02T16:00:00Z", "09:00:00-07:00", "18:00:00+02:00"),
    }


async def test_pairs_many_zones_apart_cross_the_date_line(svc: RunningService, clock: FrozenClock) -> None:
    clock.set(START)
    tokyo = await form_pair(svc, mentor_tz="America/Los_Angeles", mentee_tz="Asia/Tokyo")
    s = await schedule(svc, tokyo, starts_at="2025-06-10T23:30:00Z", duration_minutes=60)
    assert local(s, "mentor") == "2025-06-10T16:30:00-07:00"
    assert local(s, "mentee") == "2025-06-11T08:30:00+09:00"
    # Auckland leaves DST on 6 Apr 2025 (+13 -> +12) while Los Angeles is already on DST
    auckland = await form_pair(svc, mentor_tz="Pacific/Auckland", mentee_tz="America/Los_Angeles")
    before = await schedule(svc, auckland, local_start="2025-04-03T08:00", timezone="Pacific/Auckland")
    after = await schedule(svc, auckland, local_start="2025-04-10T08:00", timezone="Pacific/Auckland")
    assert_starts(before, "2025-04-02T19:00:00Z", "mentee", "2025-04-02T12:00:00-07:00")
    assert_starts(after, "2025-04-09T20:00:00Z", "mentee", "2025-04-09T13:00:00-07:00")
    # a session that crosses local midnight says so
    late = await schedule(svc, auckland, starts_at="2025-04-09T11:30:00Z", duration_minutes=60)
    assert "(ends" in late["local"]["mentor"]["display"]  # type: ignore[index]


async def test_nonexistent_ambiguous_and_naive_times(svc: RunningService, clock: FrozenClock) -> None:
    clock.set(START)
    pair = await form_pair(svc)
    r = await svc.client.post(
        f"{pair.base}/sessions",
        headers=pair.as_mentor,
        json={"local_start": "2025-03-30T02:30", "timezone": "Europe/Berlin"},
    )
    assert r.status_code == 422 and "does not exist" in r.json()["detail"]
    s = await schedule(svc, pair, local_start="2025-10-26T02:30", timezone="Europe/Berlin")
    assert s["starts_at"] == "2025-10-26T00:30:00Z", "ambiguous: the first occurrence (still CEST)"
    r = await svc.client.post(
        f"{pair.base}/sessions", headers=pair.as_mentor, json={"starts_at": "2025-04-01T09:00:00"}
    )
    assert r.status_code == 422, "an instant without an offset is refused"
    r = await svc.client.post(
        f"{pair.base}/sessions",
        headers=pair.as_mentor,
        json={"local_start": "2025-04-01T09:00", "timezone": "Mars/Olympus"},
    )
    assert r.status_code == 422
    s = await schedule(svc, pair, starts_at="2025-04-01T11:00:00+02:00")
    assert s["starts_at"] == "2025-04-01T09:00:00Z"


async def test_reschedule_across_dst_keeps_the_local_hour(svc: RunningService, clock: FrozenClock) -> None:
    clock.set(START)
    pair = await form_pair(svc, mentor_tz="Europe/Berlin", mentee_tz="America/New_York")
    s = await schedule(svc, pair, local_start="2025-03-27T09:00", timezone="Europe/Berlin")
    r = await svc.client.post(
        f"{pair.base}/sessions/{s['id']}/reschedule",
        headers=pair.as_mentee,
        json={"local_start": "2025-04-03T09:00", "timezone": "Europe/Berlin"},
    )
    moved = r.json()
    assert moved["starts_at"] == "2025-04-03T07:00:00Z" and local(moved, "mentor").startswith(
        "2025-04-03T09:00"
    )
    assert local(moved, "mentee") == "2025-04-03T03:00:00-04:00"
    assert datetime.fromisoformat(moved["ends_at"]) - datetime.fromisoformat(moved["starts_at"]) == timedelta(
        hours=1
    )
