"""Pure logic: balance index, health assessment, time conversion, calendar objects."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge_sessions.domain.balance import balance_index, direction_counts
from bridge_sessions.domain.health import Inputs, Policy, assess
from bridge_sessions.domain.ical import Attendee, InviteData, build_ics
from bridge_sessions.domain.surveys import midpoint_due, programme_span, start_plus_half, survey_path
from bridge_sessions.domain.timefmt import LocalTimeError, local_to_utc, render_local

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


@given(st.integers(0, 500), st.integers(0, 500))
def test_balance_index_is_symmetric_and_bounded(a: int, b: int) -> None:
    idx = balance_index(a, b)
    if a + b == 0:
        assert idx is None
        return
    assert idx is not None and 0.0 <= idx <= 1.0
    assert idx == balance_index(b, a)
    assert (idx == 1.0) == (a == b)
    assert (idx == 0.0) == (min(a, b) == 0)


def test_balance_index_examples() -> None:
    assert balance_index(3, 1) == 0.5
    assert direction_counts(
        [{"direction": "mentor_to_mentee"}] * 2 + [{"direction": "mentee_to_mentor"}]
    ) == (2, 1)


def test_assess_each_condition() -> None:
    p = Policy()
    quiet = assess(Inputs(now=NOW, started_at=NOW - timedelta(days=21)), p)
    assert set(quiet.risks) == {"inactive"}
    assert assess(Inputs(now=NOW, started_at=NOW - timedelta(days=20, hours=23)), p).risks == {}
    behind = assess(
        Inputs(
            now=NOW,
            started_at=NOW - timedelta(days=40),
            last_held_at=NOW - timedelta(days=2),
            agreement_start=date(2025, 4, 20),
            cadence_days=14,
            held_since_agreement_start=1,
        ),
        p,
    )
    assert set(behind.risks) == {"cadence_slipping"} and behind.risks["cadence_slipping"].metric == 2
    lopsided = assess(
        Inputs(
            now=NOW,
            started_at=NOW - timedelta(days=40),
            last_held_at=NOW,
            recent_held_sessions=3,
            recent_mentor_to_mentee=9,
            recent_mentee_to_mentor=1,
        ),
        p,
    )
    assert set(lopsided.risks) == {"one_directional"}
    too_few = assess(
        Inputs(now=NOW, started_at=NOW, last_held_at=NOW, recent_held_sessions=2, recent_mentor_to_mentee=4),
        p,
    )
    assert too_few.risks == {}
    ending = assess(Inputs(now=NOW, started_at=NOW, last_held_at=NOW, end_date=date(2025, 6, 15)), p)
    assert ending.ending_soon is not None and ending.days_left == 14
    assert assess(Inputs(now=NOW, started_at=NOW, end_date=date(2025, 5, 31)), p).due_to_complete
    assert not assess(Inputs(now=NOW, started_at=NOW, end_date=date(2025, 6, 1)), p).due_to_complete


def test_midpoint_of_the_agreement_else_of_the_start_and_planned_end() -> None:
    assert start_plus_half(date(2025, 3, 3), date(2025, 9, 1)) == date(2025, 6, 2)  # 182 days
    assert start_plus_half(date(2025, 3, 1), date(2025, 3, 4)) == date(2025, 3, 2), "rounded down"
    formed = datetime(2025, 3, 3, 23, 30, tzinfo=UTC)
    span = programme_span(
        agreement_start=date(2025, 4, 1), agreement_end=date(2025, 6, 1), started_at=formed, planned_end=None
    )
    assert span is not None and span.source == "agreement" and span.midpoint == date(2025, 5, 1)
    fallback = programme_span(
        agreement_start=None, agreement_end=None, started_at=formed, planned_end=date(2025, 5, 3)
    )
    assert (
        fallback is not None and fallback.source == "relationship" and fallback.midpoint == date(2025, 4, 2)
    )
    assert (
        programme_span(agreement_start=None, agreement_end=None, started_at=formed, planned_end=None) is None
    )
    assert midpoint_due(date(2025, 6, 2), date(2025, 9, 1), 14) == date(2025, 6, 16)
    assert midpoint_due(date(2025, 8, 25), date(2025, 9, 1), 14) == date(2025, 9, 1), "at the latest the end"
    assert survey_path("r-1", "midpoint") == "/relationships/r-1/surveys/midpoint"


def test_assess_opens_the_midpoint_survey_from_the_midpoint_day() -> None:
    p = Policy()
    agreed = {
        "agreement_start": date(2025, 3, 3),
        "agreement_end": date(2025, 9, 1),
        "end_date": date(2025, 9, 1),
    }
    day_before = assess(Inputs(now=datetime(2025, 6, 1, 23, 59, tzinfo=UTC), started_at=NOW, **agreed), p)
    assert day_before.midpoint_survey is None and day_before.survey_due is None
    on_the_day = assess(Inputs(now=datetime(2025, 6, 2, tzinfo=UTC), started_at=NOW, **agreed), p)
    assert on_the_day.midpoint_survey is not None and on_the_day.survey_due == date(2025, 6, 16)
    assert "open since 2025-06-02" in on_the_day.midpoint_survey.detail
    without_end = assess(Inputs(now=NOW, started_at=NOW - timedelta(days=400)), p)
    assert without_end.midpoint_survey is None


def test_local_to_utc_handles_gaps_and_folds() -> None:
    assert local_to_utc(datetime(2025, 3, 9, 9), "America/New_York") == datetime(2025, 3, 9, 13, tzinfo=UTC)
    with pytest.raises(LocalTimeError):
        local_to_utc(datetime(2025, 3, 9, 2, 30), "America/New_York")
    assert local_to_utc(datetime(2025, 11, 2, 1, 30), "America/New_York") == datetime(
        2025, 11, 2, 5, 30, tzinfo=UTC
    )
    shown = render_local(datetime(2025, 11, 2, 5, 30, tzinfo=UTC), 60, "America/New_York")
    assert shown.utc_offset == "-04:00" and shown.ends_at.utcoffset() == timedelta(hours=-5), (
        "ends after fall-back"
    )


def test_ics_is_rfc5545_with_escaping_and_folding() -> None:
    data = InviteData(
        uid="session-1@bridge.example",
        sequence=3,
        starts_at=datetime(2025, 3, 24, 8, tzinfo=UTC),
        duration_minutes=60,
        summary="Ana, Bo; and \\ friends",
        description="x" * 200,
        location=None,
        organizer_email="sessions@bridge.example",
        attendees=(Attendee("Ana", "ana@bridge.example"), Attendee("No mail", None)),
        stamp=datetime(2025, 3, 1, tzinfo=UTC),
        cancelled=True,
    )
    text = build_ics(data)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n")), "lines folded at 75 octets"
    assert "METHOD:CANCEL" in text and "STATUS:CANCELLED" in text and "SEQUENCE:3" in text
    ev = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
    assert str(ev["SUMMARY"]) == "Ana, Bo; and \\ friends"
    assert str(ev["ATTENDEE"]) == "mailto:ana@bridge.example"
    assert ev["DTEND"].dt - ev["DTSTART"].dt == timedelta(hours=1)
