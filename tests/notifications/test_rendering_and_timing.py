"""Pure tests: every template in every locale, no English left in translations, an attachment
claimed only by the e-mail that carries it (chat and the inbox point to the e-mail), times in the
recipient's zone and locale across a DST change, and quiet hours / local-time rules across DST."""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge_notifications.domain import planning
from bridge_notifications.domain.recipients import Prefs
from bridge_notifications.domain.rendering import InviteNote, render
from bridge_notifications.domain.routing import ROUTES, Notify
from bridge_notifications.domain.timing import in_quiet_hours, next_allowed, next_local_time, week_start, zone
from bridge_shared.contracts import sessions as s
from tests.notifications.support import at

TEMPLATES = Path(__file__).parents[2] / "services/notifications/src/bridge_notifications/templates"
KINDS = sorted(p.stem for p in (TEMPLATES / "en").glob("*.j2") if not p.stem.startswith("_"))
LOCALES = ["en", "de", "fr", "es", "ja"]

CTX = dict(
    recipient_name="Aiko Tanaka",
    partner_name="Lena Vogel",
    role="mentor",
    explanation=None,
    expires_at=at(2025, 3, 30, 8),
    accept_url="https://x.test/a",
    decline_url="https://x.test/d",
    programme_end=date(2025, 12, 31),
    relationship_url="https://x.test/r",
    starts_at=at(2025, 3, 30, 8),
    previous_starts_at=at(2025, 3, 29, 8),
    duration_minutes=60,
    location="B-204",
    reason="inactive",
    mentor_name="Aiko Tanaka",
    mentee_name="Lena Vogel",
    cohort_name="K-7",
    detected_at=at(2025, 3, 1),
    days=7,
    end_date=date(2025, 6, 30),
    days_left=14,
    changed=["attendee", "timezone"],
    sessions_held=7,
    pairs_meeting=5,
    balance=0.67,
    pulse_average=4.2,
    pulses=6,
    new_risks=1,
    at_risk_pairs=2,
    closed=0,
    dashboard_url="https://x.test/dash",
    declines=3,
    actor_name="Lena Vogel",
    agreement_url="https://x.test/ag",
    pulse_url="https://x.test/pulse",
    cohort_url="https://x.test/c",
    midpoint_survey_url="https://x.test/mid",
    due=date(2025, 7, 14),
    held_at=at(2025, 3, 30, 8),
    expired_at=at(2025, 3, 30, 8),
    closed_at=at(2025, 3, 30, 8),
    survey_url="https://x.test/s",
    survey_due=date(2025, 7, 14),
    items=[{"subject": "Z-1"}, {"subject": "Z-2"}],
    inbox_url="https://x.test/i",
    period_start=at(2025, 3, 24),
    period_end=at(2025, 3, 31),
    sent=5,
    failed=1,
    waiting=2,
    escalations_open=1,
    escalations_sent=0,
    failed_recipients=["q@x.test"],
    log_url="https://x.test/l",
    preferences_url="https://x.test/p",
    new_partner_url="https://x.test/new-partner",
    leaver_name="Lena Vogel",
    leaver_role="mentee",
    remaining_name="Aiko Tanaka",
    rule="management_chain",
    flagged_at=at(2025, 3, 30, 8),
    # Mentoring circles (issue 15).
    circle_url="https://x.test/circle",
    session_url="https://x.test/cs",
    activity_url="https://x.test/act",
    hr_circle_url="https://x.test/hrc",
    member_count=3,
    member_names=["Aiko Tanaka", "Lena Vogel", "Noor Haddad"],
    other_names=["Lena Vogel", "Noor Haddad"],
    facilitator_name="Noor Haddad",
    newcomer_name="Lena Vogel",
    language="de",
    slot_starts=at(2025, 3, 31, 8),
    slot_ends=at(2025, 3, 31, 9),
    escalate_at=at(2025, 4, 7, 8),
    circle_reason="dominant_voice",
    activity_id="promote-a-product",
    cadence_days=14,
    outcome="completed",
)
ENGLISH = re.compile(
    r"\b(the|your|you|with|please|hello|meeting|reminder|manage|matched|goals|"
    r"preferences|week|ends?|tomorrow|when|where|reply|survey|time)\b",
    re.I,
)


INVITE_NOTES: tuple[InviteNote | None, ...] = ("attached", "by_email", None)
# How each locale says "attached" and "by e-mail" in the session messages.
ATTACHED = {"en": "attach", "de": "angehängt", "fr": "joint", "es": "adjunt", "ja": "添付"}
BY_EMAIL = {
    "en": "by e-mail",
    "de": "per E-Mail",
    "fr": "par e-mail",
    "es": "por correo electrónico",
    "ja": "メール",
}
INVITE_KINDS = sorted(
    {a.kind for actions in ROUTES.values() for a in actions if isinstance(a, Notify) and a.attach_invite}
)


def test_every_kind_has_a_template_in_every_locale() -> None:
    assert len(KINDS) == 40
    for loc in LOCALES:
        assert sorted(p.stem for p in (TEMPLATES / loc).glob("*.j2")) == sorted([*KINDS, "_common"]), loc


@pytest.mark.parametrize("loc", LOCALES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ["mentor", "mentee"])
def test_renders_subject_text_and_html_without_english_in_translations(
    kind: str, loc: str, role: str
) -> None:
    for reason, note in itertools.product(("inactive", "cadence_slipping", "one_directional"), INVITE_NOTES):
        r = render(kind, loc, "Europe/Paris", {**CTX, "role": role, "reason": reason}, invite_note=note)
        assert r.subject and "\n" not in r.subject
        assert "https://x.test/p" in r.text and 'href="https://x.test/p"' in r.html
        assert r.html.startswith("<!doctype html>") and f'lang="{loc}"' in r.html
        if loc != "en":
            stripped = re.sub(r"https?://\S+|Aiko Tanaka|Lena Vogel", "", f"{r.subject}\n{r.text}")
            assert not ENGLISH.search(stripped), (kind, loc, ENGLISH.search(stripped))


@pytest.mark.parametrize("loc", LOCALES)
def test_only_an_email_with_the_invite_says_it_is_attached_in_every_locale(loc: str) -> None:
    """Chat and the inbox cannot carry the .ics: they say it comes by e-mail (when the person's
    e-mail carries it) or nothing; no other notification mentions an attachment at all."""
    assert INVITE_KINDS == [
        "circle_session_cancelled",
        "circle_session_rescheduled",
        "circle_session_scheduled",
        "session_cancelled",
        "session_invite_updated",
        "session_rescheduled",
        "session_scheduled",
    ]
    for kind in INVITE_KINDS:
        attached, by_email, silent = (
            render(kind, loc, "UTC", CTX, invite_note=note).text for note in INVITE_NOTES
        )
        assert ATTACHED[loc] in attached.lower() and BY_EMAIL[loc] not in attached, (kind, attached)
        assert ATTACHED[loc] not in by_email.lower() and BY_EMAIL[loc] in by_email, (kind, by_email)
        assert ATTACHED[loc] not in silent.lower() and BY_EMAIL[loc] not in silent, (kind, silent)
    for kind in KINDS:
        assert ATTACHED[loc] not in render(kind, loc, "UTC", CTX).text.lower(), kind


def _prefs(channels: tuple[str, ...], locale: str = "en") -> Prefs:
    return Prefs(
        channels=channels,
        quiet_start=None,
        quiet_end=None,
        digest="immediate",
        locale=locale,
        timezone="UTC",
        chat_webhook_url="https://hooks.slack.com/services/T/B/x",
        chat_format="teams",
    )


def test_what_each_channel_says_about_the_invite_follows_what_it_carries() -> None:
    notify = next(a for a in ROUTES[s.SessionScheduledV1.event_type] if isinstance(a, Notify))
    ics = ({"filename": "invite.ics", "content_type": "text/calendar", "content_b64": "QkVHSU4="},)
    ctx = {**CTX, "invite_note": "ignored: the render's own argument wins"}
    both = planning.render_contents(notify, _prefs(("email", "chat", "inbox")), ctx, ics)
    assert "is attached" in both.email.text and "is attached" not in both.elsewhere.body_text
    assert "sent to you by e-mail" in both.elsewhere.body_text
    # No e-mail for this person: chat and the inbox say nothing about an invite.
    no_email = planning.render_contents(notify, _prefs(("chat", "inbox")), ctx, ics)
    assert "invitation" not in no_email.elsewhere.body_text
    # Nothing attached (an invite sealed under someone erased): nobody is told there is one.
    nothing = planning.render_contents(notify, _prefs(("email", "chat", "inbox")), ctx, ())
    assert nothing.email is nothing.elsewhere and "invitation" not in nothing.email.text
    assert planning.invite_notes(ics, ("email", "chat")) == ("attached", "by_email")
    assert planning.invite_notes(ics, ("chat",)) == ("attached", None)
    assert planning.invite_notes((), ("email", "chat")) == (None, None)


@pytest.mark.parametrize(
    ("locale", "one", "two"),
    [
        ("en", "1 new notification", "2 new notifications"),
        ("de", "1 neue Benachrichtigung", "2 neue Benachrichtigungen"),
        ("fr", "1 nouvelle notification", "2 nouvelles notifications"),
        ("es", "1 notificación nueva", "2 notificaciones nuevas"),
    ],
)
def test_counted_words_follow_the_locales_plural_rules(locale: str, one: str, two: str) -> None:
    assert one in render("daily_digest", locale, "UTC", {**CTX, "items": [{"subject": "Z-1"}]}).subject
    assert two in render("daily_digest", locale, "UTC", CTX).subject
    # French counts 0 as singular (CLDR "one" is 0 and 1); the number is formatted for the locale.
    assert "0 nouvelle notification" in render("daily_digest", "fr", "UTC", {**CTX, "items": []}).subject
    assert "in 1 day." in render("ending_soon", "en", "UTC", {**CTX, "days_left": 1}).text
    assert "after 1 day." in render("at_risk_escalation", "en", "UTC", {**CTX, "days": 1}).text
    assert "nach 1.200 Tagen" in render("at_risk_escalation", "de", "UTC", {**CTX, "days": 1200}).text


def test_html_part_escapes_user_content() -> None:
    r = render("session_cancelled", "en", "UTC", {**CTX, "reason": "<script>alert(1)</script>"})
    assert "<script>" not in r.html and "&lt;script&gt;" in r.html
    assert "<script>alert(1)</script>" in r.text


def test_times_in_recipient_zone_and_locale_across_the_dst_change() -> None:
    # Berlin moves to summer time on 30 March 2025; 08:00 UTC is 09:00 before, 10:00 after.
    before = render("session_scheduled", "de", "Europe/Berlin", {**CTX, "starts_at": at(2025, 3, 29, 8)}).text
    after = render("session_scheduled", "de", "Europe/Berlin", {**CTX, "starts_at": at(2025, 3, 30, 8)}).text
    assert "Samstag, 29. März 2025 09:00 (Mitteleuropäische Normalzeit)" in before
    assert "Sonntag, 30. März 2025 10:00 (Mitteleuropäische Sommerzeit)" in after
    fr = render("session_reminder", "fr", "Europe/Paris", {**CTX, "starts_at": at(2025, 3, 30, 8)})
    assert "dimanche 30 mars 2025 10:00" in fr.text and "demain à 10:00" in fr.subject
    ja = render("session_reminder", "ja", "Asia/Tokyo", {**CTX, "starts_at": at(2025, 3, 30, 8)})
    assert "2025年3月30日日曜日 17:00" in ja.text
    en = render(
        "session_rescheduled",
        "en",
        "America/New_York",
        {**CTX, "previous_starts_at": at(2025, 3, 8, 15), "starts_at": at(2025, 3, 10, 15)},
    ).text
    assert "10:00\u202fAM (Eastern Standard Time)" in en and "11:00\u202fAM (Eastern Daylight Time)" in en


BERLIN = zone("Europe/Berlin")


def test_quiet_hours_wrap_midnight_and_hold_until_local_end() -> None:
    q = (time(22), time(7))
    assert in_quiet_hours(at(2025, 1, 10, 22), BERLIN, *q)  # 23:00 local
    assert not in_quiet_hours(at(2025, 1, 10, 20), BERLIN, *q)  # 21:00 local
    assert next_allowed(at(2025, 1, 10, 22), BERLIN, *q) == at(2025, 1, 11, 6)  # 07:00 CET
    assert next_allowed(at(2025, 1, 11, 3), BERLIN, *q) == at(2025, 1, 11, 6)
    assert next_allowed(at(2025, 1, 11, 12), BERLIN, *q) == at(2025, 1, 11, 12)
    assert next_allowed(at(2025, 1, 11, 12), BERLIN, None, None) == at(2025, 1, 11, 12)


def test_quiet_hours_across_spring_forward_and_fall_back() -> None:
    q = (time(22), time(7))
    # Night of 29->30 March: 07:00 is CEST (UTC+2), so 05:00 UTC, not 06:00.
    assert next_allowed(at(2025, 3, 29, 22), BERLIN, *q) == at(2025, 3, 30, 5)
    # Night of 25->26 October: 07:00 is CET again (UTC+1), so 06:00 UTC.
    assert next_allowed(at(2025, 10, 25, 21), BERLIN, *q) == at(2025, 10, 26, 6)
    # Quiet hours that end inside the skipped hour (02:30 does not exist on 30 March): the first
    # allowed instant is the jump itself, 03:00 CEST = 01:00 UTC.
    assert next_allowed(at(2025, 3, 29, 23), BERLIN, time(23), time(2, 30)) == at(2025, 3, 30, 1)
    # Ending inside the repeated hour: the first 02:30 (CEST) = 00:30 UTC.
    assert next_allowed(at(2025, 10, 25, 22), BERLIN, time(23), time(2, 30)) == at(2025, 10, 26, 0, 30)


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1)),
    st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Tokyo", "UTC"]),
    st.times(),
    st.times(),
)
def test_next_allowed_is_outside_quiet_hours_and_never_early(
    naive: datetime, tz: str, start: time, end: time
) -> None:
    start, end = start.replace(microsecond=0), end.replace(microsecond=0)
    now = at(2000, 1, 1) + (naive - datetime(2000, 1, 1))
    result = next_allowed(now, zone(tz), start, end)
    assert result >= now
    assert not in_quiet_hours(result, zone(tz), start, end)
    assert result - now <= timedelta(hours=26)
    # Nothing earlier (at minute resolution) was allowed.
    if result > now:
        assert in_quiet_hours(max(now, result - timedelta(minutes=1)), zone(tz), start, end)


def test_next_local_time_and_week_start_across_dst() -> None:
    assert next_local_time(at(2025, 3, 29, 12), BERLIN, time(8)) == at(2025, 3, 30, 6)  # 08:00 CEST
    assert next_local_time(at(2025, 3, 28, 12), BERLIN, time(8)) == at(2025, 3, 29, 7)  # 08:00 CET
    assert next_local_time(at(2025, 3, 29, 7), BERLIN, time(8)) == at(2025, 3, 29, 7)
    # Monday 08:00 Berlin: the week of 31 March starts in summer time.
    assert week_start(at(2025, 4, 2, 12), BERLIN, 0, time(8)) == at(2025, 3, 31, 6)
    assert week_start(at(2025, 3, 31, 5), BERLIN, 0, time(8)) == at(2025, 3, 24, 7)


def test_a_participants_preferences_link_follows_the_web_app_unless_set() -> None:
    """preferences_base_url unset: the web app's page (<app_base_url>/preferences/<recipient id>)."""
    from bridge_notifications.settings import NotificationsSettings

    default = NotificationsSettings(environment="test", app_base_url="https://bridge.example.com/")
    assert default.preferences_base_url is None
    assert default.preferences_url("p-1") == "https://bridge.example.com/preferences/p-1"
    own = NotificationsSettings(environment="test", preferences_base_url="https://prefs.example.com/p/")
    assert own.preferences_url("p-1") == "https://prefs.example.com/p/p-1"
