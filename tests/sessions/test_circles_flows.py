"""Circles in sessions through the API, with the events read back from the real topic: circle.formed
opens a circle once, the agreement is confirmed by every member, group sessions carry one invite naming
every member (same UID, higher SEQUENCE when moved; METHOD:CANCEL when cancelled), a held session
records attendance, the activity's ideas and who taught whom, with the circle's exchange index, and
circle.dissolved closes the circle and cancels what was to come."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import icalendar
import pytest

from bridge_shared.scheduling.clock import FrozenClock
from tests.service_harness import RunningService, auth
from tests.sessions.conftest import START, Bus
from tests.sessions.test_circles_support import (
    AGREEMENT,
    CANCELLED,
    CLOSED,
    CONFIRMED,
    DRAFTED,
    HELD,
    RESCHEDULED,
    SCHEDULED,
    STARTED,
    activate_agreement,
    circle_bus,
    dissolve,
    form_circle,
    handled,
    log_session,
)

pytestmark = pytest.mark.integration
__all__ = ["circle_bus"]  # the fixture, used by name


@pytest.fixture(autouse=True)
def _clock_back(clock: FrozenClock) -> Any:
    clock.set(START)
    yield
    clock.set(START)


def attendees(ics: str) -> set[str]:
    [event] = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    found = event.get("attendee")
    found = found if isinstance(found, list) else [found]
    return {str(a).removeprefix("mailto:") for a in found}


def vevent(ics: str) -> Any:
    cal = icalendar.Calendar.from_ical(ics)
    return cal, cal.walk("VEVENT")[0]


async def test_circle_formed_twice_starts_once_and_members_see_it(
    svc: RunningService, circle_bus: Bus, admin_dsn: str
) -> None:
    c = await form_circle(svc, admin_dsn, times=3)
    started = await circle_bus.wait(c.id, STARTED)
    assert started[0].member_ids == [m.participant_id for m in c.members]
    assert started[0].facilitator_id == c.facilitator.participant_id
    assert started[0].started_at == START and started[0].hr_contact_email == "hr@bridge.example"
    view = c.body
    assert view["status"] == "forming" and view["i_facilitate"] is True and view["agreement_version"] is None
    assert [m["generation"] for m in view["members"]] == ["senior", "junior", "junior", "senior", "other"]
    assert view["planned_end"] == "2025-09-30"
    mine = (await svc.client.get(c.base, headers=c.as_("Jun"))).json()
    assert mine["my_participant_id"] == c.pid("Jun") and mine["i_facilitate"] is False
    listed = (await svc.client.get("/circles", headers=c.as_("Jun"))).json()
    assert [x["id"] for x in listed] == [c.id]
    hr = [x["id"] for x in (await svc.client.get("/circles", headers=auth("hr_admin"))).json()]
    assert hr.count(c.id) == 1
    # Once all three are handled, a later event of the circle on the bus means every earlier one is
    # there too (one key, relayed in order): circle.started went out once.
    await handled(svc, c.event_ids)
    r = await svc.client.post(f"{c.base}/agreement", json=AGREEMENT, headers=c.as_facilitator)
    assert r.status_code == 201, r.text
    await circle_bus.wait(c.id, DRAFTED)
    assert circle_bus.types(c.id).count(STARTED) == 1


async def test_agreement_drafted_then_in_force_once_every_member_confirmed(
    svc: RunningService, circle_bus: Bus, admin_dsn: str
) -> None:
    c = await form_circle(svc, admin_dsn)
    url = f"{c.base}/agreement"
    goals = [{"participant_id": c.pid("Jun"), "goal": "Learn how budgets are decided"}]
    past = {**AGREEMENT, "end_date": "2025-03-03"}
    r = await svc.client.post(url, json=past, headers=c.as_facilitator)
    assert r.status_code == 422 and r.json()["title"] == "End date in the past", r.text
    assert [e["field"] for e in r.json()["errors"]] == ["end_date"]
    stranger = [{"participant_id": "P-nobody", "goal": "x"}]
    r = await svc.client.post(url, json={**AGREEMENT, "personal_goals": stranger}, headers=c.as_facilitator)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "personal_goals", r.text
    r = await svc.client.post(url, json=AGREEMENT, headers=auth("hr_admin"))
    assert r.status_code == 403, r.text

    r = await svc.client.post(url, json={**AGREEMENT, "personal_goals": goals}, headers=c.as_("Jo"))
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["version"] == 1 and draft["status"] == "draft" and draft["drafted_by"] == c.pid("Jo")
    parts = {p["participant_id"]: p for p in draft["members"]}
    assert parts[c.pid("Jo")]["confirmed_at"] and not parts[c.pid("Fay")]["confirmed_at"]
    assert parts[c.pid("Jun")]["personal_goal"] == "Learn how budgets are decided"

    others = [m for m in c.members if m.display_name.split()[0] != "Jo"]
    for n, m in enumerate(others):
        body = {"personal_goal": "Use generative AI every week"} if n == 0 else None
        r = await svc.client.post(
            f"{url}/versions/1/confirm", json=body, headers=auth("participant", sub=m.employee_id)
        )
        assert r.status_code == 200, r.text
        view = r.json()
        if n < len(others) - 1:
            assert view["active"] is None and view["pending"]["version"] == 1
            assert (await svc.client.get(c.base, headers=c.as_facilitator)).json()["status"] == "forming"
    assert view["active"]["version"] == 1 and view["pending"] is None
    parts = {p["participant_id"]: p for p in view["active"]["members"]}
    assert parts[others[0].participant_id]["personal_goal"] == "Use generative AI every week"
    assert all(p["confirmed_at"] for p in parts.values())
    circle = (await svc.client.get(c.base, headers=c.as_("Sam"))).json()
    assert circle["status"] == "active" and circle["agreement_version"] == 1
    assert circle["planned_end"] == AGREEMENT["end_date"]
    r = await svc.client.post(f"{url}/versions/1/confirm", headers=c.as_("Sam"))
    assert r.status_code == 409 and r.json()["title"] == "Not awaiting confirmation"

    drafted = await circle_bus.wait(c.id, DRAFTED)
    confirmed = await circle_bus.wait(c.id, CONFIRMED)
    assert drafted[0].version == 1 and drafted[0].drafted_by == c.pid("Jo") and drafted[0].cadence_days == 14
    assert len(confirmed) == 1 and confirmed[0].version == 1
    assert confirmed[0].end_date.isoformat() == AGREEMENT["end_date"]
    assert confirmed[0].member_ids == [m.participant_id for m in c.members]


async def test_group_session_has_one_invite_for_every_member_moved_with_the_same_uid(
    svc: RunningService, circle_bus: Bus, admin_dsn: str
) -> None:
    c = await form_circle(svc, admin_dsn)
    url = f"{c.base}/sessions"
    at = START + timedelta(days=7)
    r = await svc.client.post(url, json={"starts_at": "2025-03-01T09:00:00Z"}, headers=c.as_("Jun"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "starts_at", r.text
    r = await svc.client.post(
        url, json={"starts_at": at.isoformat(), "activity_id": "reverse-demo"}, headers=c.as_("Jun")
    )
    assert r.status_code == 403, "only the facilitator picks the activity"
    r = await svc.client.post(
        url, json={"starts_at": at.isoformat(), "activity_id": "no-such-thing"}, headers=c.as_facilitator
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "activity_id", r.text

    r = await svc.client.post(
        url,
        json={"starts_at": at.isoformat(), "duration_minutes": 90, "location": "Room 3"},
        headers=c.as_("Jun"),
    )
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["scheduled_by"] == c.pid("Jun") and s["activity"] is None and s["invite"]["sequence"] == 0
    assert set(s["local"]) == {m.participant_id for m in c.members}
    assert s["local"][c.pid("Jun")]["timezone"] == "Asia/Tokyo"
    [scheduled] = await circle_bus.wait(c.id, SCHEDULED)
    assert scheduled.session_id == s["id"] and scheduled.duration_minutes == 90
    assert scheduled.member_ids == [m.participant_id for m in c.members]
    assert scheduled.member_timezones[c.pid("Sam")] == "America/New_York"
    assert scheduled.invite.method == "REQUEST" and scheduled.invite.sequence == 0
    assert attendees(scheduled.invite.ics) == {str(m.email) for m in c.members}, "one invite, every member"
    cal, ev = vevent(scheduled.invite.ics)
    assert cal["method"] == "REQUEST" and str(ev["uid"]) == s["invite"]["uid"]

    # The facilitator picks the activity; a member cannot.
    r = await svc.client.patch(f"{url}/{s['id']}", json={"activity_id": "reverse-demo"}, headers=c.as_("Jo"))
    assert r.status_code == 403
    r = await svc.client.patch(
        f"{url}/{s['id']}", json={"activity_id": "promote-everyday-product"}, headers=c.as_facilitator
    )
    assert r.status_code == 200 and r.json()["activity"]["title"] == "Promote an everyday product", r.text
    jo = (await svc.client.get(f"{url}/{s['id']}", headers=c.as_("Jo"))).json()
    assert jo["activity"] == {
        "id": "promote-everyday-product",
        "title": "Ein Alltagsprodukt bewerben",
        "locale": "de",
    }

    later = at + timedelta(days=1, hours=2)
    r = await svc.client.post(
        f"{url}/{s['id']}/reschedule", json={"starts_at": later.isoformat()}, headers=c.as_("Sam")
    )
    assert r.status_code == 200 and r.json()["invite"]["sequence"] == 1, r.text
    [moved] = await circle_bus.wait(c.id, RESCHEDULED)
    assert moved.invite.uid == scheduled.invite.uid and moved.invite.sequence == 1
    assert moved.previous_starts_at == at and moved.starts_at == later
    cal, ev = vevent(moved.invite.ics)
    assert str(ev["uid"]) == scheduled.invite.uid and int(ev["sequence"]) == 1
    assert ev.decoded("dtstart") == later and "Promote an everyday product" in str(ev["summary"])
    assert attendees(moved.invite.ics) == {str(m.email) for m in c.members}
    r = await svc.client.get(f"{url}/{s['id']}/invite.ics", headers=c.as_("Mid"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    assert int(vevent(r.text)[1]["sequence"]) == 1

    r = await svc.client.post(f"{url}/{s['id']}/cancel", json={"reason": "clash"}, headers=c.as_("Jo"))
    assert (
        r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["cancelled_by"] == c.pid("Jo")
    )
    [cancelled] = await circle_bus.wait(c.id, CANCELLED)
    cal, ev = vevent(cancelled.invite.ics)
    assert cal["method"] == "CANCEL" and ev["status"] == "CANCELLED" and int(ev["sequence"]) == 2
    assert str(ev["uid"]) == scheduled.invite.uid and cancelled.invite.method == "CANCEL"
    r = await svc.client.post(
        f"{url}/{s['id']}/reschedule", json={"starts_at": later.isoformat()}, headers=c.as_("Jo")
    )
    assert r.status_code == 409 and r.json()["title"] == "Session not scheduled"


async def test_held_session_records_attendance_ideas_learning_and_the_exchange_index(
    svc: RunningService, circle_bus: Bus, clock: FrozenClock, admin_dsn: str
) -> None:
    c = await form_circle(svc, admin_dsn)
    url = f"{c.base}/sessions"
    at = START + timedelta(days=2)
    r = await svc.client.post(
        url,
        json={"starts_at": at.isoformat(), "activity_id": "promote-everyday-product"},
        headers=c.as_facilitator,
    )
    sid = r.json()["id"]
    held = {
        "attended_ids": [c.pid(t) for t in ("Fay", "Jun", "Jo", "Sam")],
        "ideas": [
            {"participant_id": c.pid("Jun"), "text": "A targeted social ad for commuters"},
            {"participant_id": c.pid("Sam"), "text": "A stand at the neighbourhood market"},
            {"participant_id": c.pid("Jo"), "text": "An AI-driven campaign that tests slogans"},
        ],
        "learning": [
            {"from_id": c.pid("Jun"), "to_id": c.pid("Sam"), "topic": "Short-form video"},
            {"from_id": c.pid("Jo"), "to_id": c.pid("Fay"), "topic": "Prompting"},
            {"from_id": c.pid("Fay"), "to_id": c.pid("Jun"), "topic": "How a budget is approved"},
        ],
    }
    r = await svc.client.post(f"{url}/{sid}/held", json=held, headers=c.as_facilitator)
    assert r.status_code == 409 and r.json()["title"] == "Session not yet held", "not before it starts"
    clock.set(at + timedelta(hours=2))
    r = await svc.client.post(f"{url}/{sid}/held", json=held, headers=c.as_("Jun"))
    assert r.status_code == 403, "the facilitator records it"
    absent = {**held, "ideas": [{"participant_id": c.pid("Mid"), "text": "x"}]}
    r = await svc.client.post(f"{url}/{sid}/held", json=absent, headers=c.as_facilitator)
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["ideas.0.participant_id"], (
        r.text
    )
    r = await svc.client.post(f"{url}/{sid}/held", json=held, headers=c.as_facilitator)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "held" and out["held_at"] == at.isoformat().replace("+00:00", "Z")
    assert out["attended_ids"] == sorted(held["attended_ids"]) and out["absent_ids"] == [c.pid("Mid")]
    assert [i["text"] for i in out["ideas"]] == [i["text"] for i in held["ideas"]]
    assert [(f["from_generation"], f["to_generation"]) for f in out["learning"]] == [
        ("junior", "senior"),
        ("junior", "senior"),
        ("senior", "junior"),
    ]

    [event] = await circle_bus.wait(c.id, HELD)
    assert event.session_id == sid and event.activity_id == "promote-everyday-product"
    assert sorted(event.attended_ids) == sorted(held["attended_ids"])
    assert [(i.participant_id, i.text) for i in event.ideas] == [
        (i["participant_id"], i["text"]) for i in held["ideas"]
    ]
    first = event.learning[0]
    assert (first.from_id, first.to_id, first.topic) == (c.pid("Jun"), c.pid("Sam"), "Short-form video")
    assert (first.from_generation, first.to_generation) == ("junior", "senior")
    # a = 2 junior->senior, b = 1 senior->junior: 2*1/3
    assert event.exchange_index == pytest.approx(2 / 3)

    # A session held without being scheduled: logged, no invite; the running index counts it too.
    clock.set(at + timedelta(days=3))
    logged = await log_session(
        svc,
        c,
        at + timedelta(days=2),
        attended=["Jun", "Jo", "Sam", "Mid"],
        learning=[("Sam", "Jo", "Negotiating"), ("Mid", "Jun", "Team rituals")],
        activity_id="industry-story",
    )
    assert logged["logged"] is True and logged["invite"] is None and logged["status"] == "held"
    assert logged["activity"]["id"] == "industry-story"
    r = await svc.client.get(f"{url}/{logged['id']}/invite.ics", headers=c.as_facilitator)
    assert r.status_code == 404 and r.json()["title"] == "No calendar invite"
    second = (await circle_bus.wait(c.id, HELD, 2))[1]
    # a = 2, b = 2 (the flow from "other" counts for neither): 1.0
    assert second.exchange_index == 1.0 and second.activity_id == "industry-story"
    assert len(circle_bus.of(c.id, SCHEDULED)) == 1, "logging sends no 'scheduled'"
    health = (await svc.client.get(f"{c.base}/health", headers=c.as_("Mid"))).json()
    assert health["exchange_index"] == 1.0 and health["sessions_held"] == 2
    assert health["learning_junior_to_senior"] == 2 and health["learning_senior_to_junior"] == 2
    assert health["attendance_rate"] == pytest.approx(8 / 10)
    assert health["contributions"][c.pid("Jun")] == 2


async def test_dissolved_circle_closes_and_cancels_the_sessions_to_come(
    svc: RunningService, circle_bus: Bus, admin_dsn: str
) -> None:
    c = await form_circle(svc, admin_dsn)
    await activate_agreement(svc, c)
    url = f"{c.base}/sessions"
    ids = []
    for days in (5, 19):
        r = await svc.client.post(
            url, json={"starts_at": (START + timedelta(days=days)).isoformat()}, headers=c.as_("Jo")
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    await dissolve(svc, admin_dsn, c, reason="Two members left the programme")
    [closed] = await circle_bus.wait(c.id, CLOSED)
    assert closed.outcome == "ended_early" and closed.sessions_held == 0
    assert closed.member_ids == [m.participant_id for m in c.members]
    cancelled = await circle_bus.wait(c.id, CANCELLED, 2)
    assert sorted(e.session_id for e in cancelled) == sorted(ids)
    assert all(e.invite.method == "CANCEL" and "METHOD:CANCEL" in e.invite.ics for e in cancelled)
    circle = (await svc.client.get(c.base, headers=c.as_("Jo"))).json()
    assert circle["status"] == "closed" and circle["outcome"] == "ended_early"
    assert circle["close_reason"] == "Two members left the programme"
    sessions = (await svc.client.get(url, headers=c.as_("Jo"))).json()
    assert {s["status"] for s in sessions} == {"cancelled"}
    r = await svc.client.post(
        url, json={"starts_at": (START + timedelta(days=30)).isoformat()}, headers=c.as_("Jo")
    )
    assert r.status_code == 409 and r.json()["title"] == "Circle closed"
    assert circle_bus.types(c.id).count(CLOSED) == 1


async def test_who_sees_and_acts_on_a_circle(svc: RunningService, admin_dsn: str) -> None:
    c = await form_circle(svc, admin_dsn)
    url = f"{c.base}/sessions"
    r = await svc.client.post(
        url, json={"starts_at": (START + timedelta(days=3)).isoformat()}, headers=c.as_("Mid")
    )
    sid = r.json()["id"]
    reads = [
        c.base,
        f"{c.base}/agreement",
        url,
        f"{url}/{sid}",
        f"{url}/{sid}/invite.ics",
        f"{c.base}/health",
    ]
    for who in ("Fay", "Jun", "Mid"):
        for path in reads:
            assert (await svc.client.get(path, headers=c.as_(who))).status_code == 200, (who, path)
    apac = auth("hr_regional", regions=("apac",))
    for headers in (auth("hr_admin"), apac, auth("service")):
        for path in reads:
            assert (await svc.client.get(path, headers=headers)).status_code == 200, path
    # Regional HR: the members outside APAC show without time zone, local time or e-mail.
    seen = (await svc.client.get(c.base, headers=apac)).json()
    zones = {m["participant_id"]: m["timezone"] for m in seen["members"]}
    assert zones[c.pid("Jun")] == "Asia/Tokyo" and zones[c.pid("Fay")] is None
    assert set((await svc.client.get(f"{url}/{sid}", headers=apac)).json()["local"]) == {c.pid("Jun")}
    ics = (await svc.client.get(f"{url}/{sid}/invite.ics", headers=apac)).text
    assert attendees(ics) == {str(c.member("Jun").email)}
    assert c.id in [x["id"] for x in (await svc.client.get("/circles", headers=apac)).json()]

    nobody = [auth("participant", sub="E-NOT-A-MEMBER"), auth("hr_regional", regions=("latam",))]
    for headers in nobody:
        for path in reads:
            assert (await svc.client.get(path, headers=headers)).status_code == 404, path
        assert c.id not in [x["id"] for x in (await svc.client.get("/circles", headers=headers)).json()]
    r = await svc.client.post(
        url, json={"starts_at": (START + timedelta(days=4)).isoformat()}, headers=nobody[0]
    )
    assert r.status_code == 404
    for headers in (auth("hr_admin"), apac, auth("service")):
        r = await svc.client.post(
            url, json={"starts_at": (START + timedelta(days=4)).isoformat()}, headers=headers
        )
        assert r.status_code == 403, r.text
        r = await svc.client.post(f"{url}/{sid}/held", json={"attended_ids": []}, headers=headers)
        assert r.status_code == 403
    r = await svc.client.post(f"{url}/{sid}/held", json={"attended_ids": []}, headers=c.as_("Mid"))
    assert r.status_code == 403 and "facilitator" in r.json()["detail"]


async def test_the_activity_library_in_five_locales(svc: RunningService) -> None:
    headers = auth("participant", sub="E-ANYONE")
    english = (await svc.client.get("/activities", headers=headers)).json()
    ids = [a["id"] for a in english]
    assert len(ids) >= 5 and {"promote-everyday-product", "reverse-demo", "industry-story"} <= set(ids)
    assert all(a["locale"] == "en" and len(a["prompts"]) >= 2 for a in english)
    titles = {}
    for locale in ("de", "fr", "es", "ja"):
        got = (await svc.client.get("/activities", params={"locale": locale}, headers=headers)).json()
        assert [a["id"] for a in got] == ids and {a["locale"] for a in got} == {locale}
        titles[locale] = got[0]["title"]
    assert titles == {
        "de": "Ein Alltagsprodukt bewerben",
        "fr": "Promouvoir un produit du quotidien",
        "es": "Promocionar un producto cotidiano",
        "ja": "身近な商品をプロモーションする",
    }
    swiss = (await svc.client.get("/activities", params={"locale": "de-CH"}, headers=headers)).json()
    assert swiss[0]["locale"] == "de"
    assert (await svc.client.get("/activities", params={"locale": "pt"}, headers=headers)).json()[0][
        "locale"
    ] == "en"
    assert (await svc.client.get("/activities")).status_code == 401
