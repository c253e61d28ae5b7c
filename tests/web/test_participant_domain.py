"""The participant pages' pure helpers (bridge_web.domain.participant) and the e-mail link collector's
parsing (tests/web/mail_links.py): no services, no browser."""

from __future__ import annotations

from datetime import UTC, datetime

from bridge_web.app.backend import FieldError
from bridge_web.domain import participant as d
from tests.web import mail_links


def test_availability_round_trips_and_refuses_half_filled_or_malformed_slots() -> None:
    rows = d.availability_rows(
        [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 0, "start": "14:00", "end": "24:00"}]
    )
    assert [(r.prefix, r.start, r.end) for r in rows[0]] == [
        ("avail_0_0", "09:00", "12:00"),
        ("avail_0_1", "14:00", "24:00"),
    ]
    assert all(len(day) == d.MAX_WINDOWS_PER_DAY for day in rows)
    form = {
        "avail_0_0_start": "09:00",
        "avail_0_0_end": "12:00",
        "avail_4_1_start": "22:00",
        "avail_4_1_end": "02:00",
    }
    parsed = d.parse_availability(form)
    assert parsed.errors == {}
    assert parsed.windows == [
        {"weekday": 0, "start": "09:00", "end": "12:00"},
        {"weekday": 4, "start": "22:00", "end": "02:00"},
    ]
    bad = d.parse_availability(
        {
            "avail_1_0_start": "9:00",
            "avail_1_0_end": "12:00",
            "avail_2_0_start": "10:00",
            "avail_2_0_end": "10:00",
        }
    )
    assert set(bad.errors) == {"avail_1_0_start", "avail_2_0_end"} and bad.windows == []


def test_service_field_errors_land_beside_the_form_fields() -> None:
    errors = d.form_errors(
        [
            FieldError("mentor.learning_goals.0", "too long"),
            FieldError("body.cadence_days", "must be at most 180"),
            FieldError("(body)", "Value error, end_date must be after start_date"),
            FieldError("local_start", "in the past"),
        ],
        {"local_start": "starts_at"},
    )
    assert errors == {
        "mentor_learning_goals": ["too long"],
        "cadence_days": ["must be at most 180"],
        "end_date": ["Value error, end_date must be after start_date"],
        "starts_at": ["in the past"],
    }


def test_topics_carry_their_direction_and_the_agreement_form_round_trips() -> None:
    assert d.topics_from_form("pandas\n\n notebooks \npandas", "negotiation") == [
        {"topic": "pandas", "direction": "mentor_to_mentee"},
        {"topic": "notebooks", "direction": "mentor_to_mentee"},
        {"topic": "negotiation", "direction": "mentee_to_mentor"},
    ]
    form = {
        "mentor_learning_goals": "A\nB",
        "mentor_success_metrics": "C",
        "mentee_learning_goals": "D",
        "mentee_success_metrics": "E",
        "cadence_days": "14",
        "meeting_mode": "video",
        "start_date": "2027-02-01",
        "end_date": "2027-07-30",
    }
    body = d.agreement_body(form)
    assert body["mentor"] == {"learning_goals": ["A", "B"], "success_metrics": ["C"], "offers": None}
    assert body["cadence_days"] == 14 and body["meeting_place"] is None
    again = d.agreement_form({**body, "version": 1})
    assert again["mentor_learning_goals"] == "A\nB" and again["end_date"] == "2027-07-30"


def test_sessions_split_into_upcoming_and_past_and_a_started_one_can_be_recorded() -> None:
    now = datetime(2027, 3, 1, 12, tzinfo=UTC)
    sessions = [
        {"id": "a", "status": "scheduled", "starts_at": "2027-03-02T09:00:00Z"},
        {"id": "b", "status": "held", "starts_at": "2027-02-20T09:00:00Z"},
        {"id": "c", "status": "scheduled", "starts_at": "2027-03-01T11:00:00Z"},
        {"id": "d", "status": "cancelled", "starts_at": "2027-03-05T09:00:00Z"},
    ]
    lists = d.split_sessions(sessions, now)
    assert [s["id"] for s in lists.upcoming] == ["a"]
    assert [s["id"] for s in lists.past] == ["d", "c", "b"]
    assert d.session_needs_record(sessions[2], now) and not d.session_needs_record(sessions[0], now)
    assert d.local_input_value("2027-03-02T09:00:00Z", "Europe/Berlin") == "2027-03-02T10:00"


def test_a_get_response_only_preselects_and_inbox_links_become_local_paths() -> None:
    assert d.chosen_response("accept") == "accept" and d.chosen_response("delete") is None
    assert d.local_path("http://127.0.0.1:8080/proposals/x?response=accept") == "/proposals/x?response=accept"
    assert d.local_path("https://evil.example//other") is None


def test_mail_links_finds_the_web_apps_urls_in_both_parts() -> None:
    message = {
        "text": "Accept: http://web.test/proposals/1?response=accept.\nUnsubscribe: http://n.test/unsubscribe/t",
        "html": '<a href="http://web.test/proposals/1?response=decline&amp;x=1">Decline</a> '
        '<a href="http://web.test/hr/cohorts/c">HR</a>',
    }
    urls = mail_links.urls_in(message, "http://web.test")
    assert urls == [
        "http://web.test/proposals/1?response=accept",
        "http://web.test/proposals/1?response=decline&x=1",
        "http://web.test/hr/cohorts/c",
    ]
    assert mail_links.path_of(urls[1]) == "/proposals/1?response=decline&x=1"
