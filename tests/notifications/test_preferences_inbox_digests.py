"""Preferences (participant and HR cohort defaults), quiet hours holding deliveries back, the daily
digest, HR's weekly digest, the in-app inbox API and the delivery log's filters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bridge_notifications.app import digests
from bridge_notifications.app.dispatch import Dispatcher
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s
from bridge_shared.scheduling.clock import FrozenClock
from tests.notifications.support import (
    Sink,
    at,
    form_pair,
    pair_formed,
    processed,
    publish,
    ref,
    rows,
    session_scheduled,
    uid,
)
from tests.service_harness import RunningService, auth

pytestmark = pytest.mark.integration


async def test_quiet_hours_hold_back_and_release_at_local_morning_across_dst(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    # 21:30 UTC on 29 March = 22:30 CET; quiet 22:00-07:00 Berlin ends at 07:00 CEST = 05:00 UTC.
    clock.set(at(2025, 3, 29, 21, 30))
    sleeper, other = ref("Lena Vogel", tz="Europe/Berlin"), ref("Aiko Tanaka", tz="Asia/Tokyo")
    r = await svc.client.put(
        "/me/preferences",
        headers=auth("participant", sub=sleeper.employee_id),
        json={"quiet_start": "22:00", "quiet_end": "07:00"},
    )
    assert r.status_code == 200 and r.json()["own"]["quiet_start"] == "22:00:00"
    await form_pair(svc, other, sleeper, formed_at=clock.now())
    [held] = await rows(svc, "SELECT * FROM deliveries WHERE recipient_id = $1", sleeper.participant_id)
    assert held["held_reason"] == "quiet_hours" and held["due_at"] == at(2025, 3, 30, 5)
    await dispatcher.drain()
    assert sink.messages(str(sleeper.email)) == [] and len(sink.messages(str(other.email))) == 1
    clock.set(at(2025, 3, 30, 4, 59))
    await dispatcher.drain()
    assert sink.messages(str(sleeper.email)) == []
    clock.set(at(2025, 3, 30, 5))
    await dispatcher.drain()
    assert len(sink.messages(str(sleeper.email))) == 1  # held, never dropped
    # The in-app inbox is not disruptive: it had the item at once.
    inbox = (
        await svc.client.get("/me/notifications", headers=auth("participant", sub=sleeper.employee_id))
    ).json()
    assert [i["kind"] for i in inbox] == ["pair_formed"]


async def test_quiet_hours_chosen_after_planning_are_honoured_at_send_time(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 7, 1, 10))
    a, b = ref("Lena Vogel", tz="Europe/Berlin"), ref("Aiko Tanaka", tz="Asia/Tokyo", locale="ja")
    p = pair_formed(a, b, formed_at=clock.now())
    sched = session_scheduled(p, at(2025, 7, 5, 0), duration_minutes=45)
    await processed(svc, await publish(svc, p))
    await processed(svc, await publish(svc, sched))
    # The reminder for Berlin is due 4 July 00:00 UTC = 02:00 CEST; Lena now chooses quiet hours.
    await svc.client.put(
        "/me/preferences",
        headers=auth("participant", sub=a.employee_id),
        json={"quiet_start": "23:00", "quiet_end": "06:30"},
    )
    clock.set(at(2025, 7, 4, 0))
    await dispatcher.drain()
    [rem] = await rows(
        svc,
        "SELECT * FROM deliveries WHERE recipient_id = $1 AND kind = 'session_reminder'",
        a.participant_id,
    )
    assert (rem["status"], rem["due_at"], rem["attempts"]) == ("pending", at(2025, 7, 4, 4, 30), 0)
    assert len([x for x in sink.messages(str(b.email)) if x["Subject"].startswith("リマインダー")]) == 1
    clock.set(at(2025, 7, 4, 4, 30))
    await dispatcher.drain()
    assert len([x for x in sink.messages(str(a.email)) if x["Subject"].startswith("Reminder")]) == 1


async def test_daily_digest_replaces_immediate_mail_and_cohort_defaults_apply(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 8, 4, 12))
    cohort = uid("c-")
    r = await svc.client.put(
        f"/cohorts/{cohort}/notification-defaults",
        headers=auth("hr_admin"),
        json={"digest": "daily", "channels": ["email", "inbox"]},
    )
    assert r.status_code == 200, r.text
    a, b = ref("Lena Vogel", locale="de", tz="Europe/Berlin"), ref("Aiko Tanaka", tz="Asia/Tokyo")
    # Aiko overrides the cohort default: immediate.
    await svc.client.put(
        "/me/preferences", headers=auth("participant", sub=b.employee_id), json={"digest": "immediate"}
    )
    p, _ = await form_pair(svc, b, a, cohort_id=cohort, formed_at=clock.now())
    ids = dict(pair_id=p.pair_id, cohort_id=cohort, mentor_id=b.participant_id, mentee_id=a.participant_id)
    ending = s.RelationshipEndingSoonV1(relationship_id=uid(), end_date=at(2025, 9, 1).date(), **ids)
    await processed(svc, await publish(svc, ending))
    await dispatcher.drain()
    assert sink.messages(str(a.email)) == [] and len(sink.messages(str(b.email))) == 2
    held = await rows(svc, "SELECT status, due_at FROM deliveries WHERE recipient_id = $1", a.participant_id)
    assert {(h["status"], h["due_at"]) for h in held} == {("digest", at(2025, 8, 5, 6))}  # 08:00 CEST
    eff = await svc.client.get(
        f"/preferences/{a.participant_id}", headers=auth("participant", sub=a.employee_id)
    )
    assert eff.json()["effective"]["digest"] == "daily"

    clock.set(at(2025, 8, 5, 6))
    async with svc.runtime.pool.acquire() as conn, conn.transaction():
        assert await digests.daily_digest(conn, clock.now(), svc.settings) >= 1  # type: ignore[arg-type]
    async with svc.runtime.pool.acquire() as conn, conn.transaction():
        await digests.daily_digest(conn, clock.now(), svc.settings)  # a second tick adds nothing
    await dispatcher.drain()
    [digest] = sink.messages(str(a.email))
    assert "2 neue Benachrichtigungen" in digest["Subject"]
    text = digest.get_body(("plain",)).get_content()
    assert "Lena Vogel" in text and "Aiko Tanaka" in text
    held = await rows(
        svc,
        "SELECT status FROM deliveries WHERE recipient_id = $1 AND kind <> 'daily_digest'",
        a.participant_id,
    )
    assert {h["status"] for h in held} == {"digested"}


async def test_weekly_hr_digest_once_per_week_per_cohort(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 9, 3, 10))
    hr = f"{uid('hr.')}@bridge.example"
    cohort = uid("c-")
    await svc.client.put(
        f"/cohorts/{cohort}/notification-defaults",
        headers=auth("hr_admin"),
        json={"hr_locale": "fr", "hr_timezone": "Europe/Paris"},
    )
    created = m.CohortCreatedV1(cohort_id=cohort, name="Promo Automne", regions=["EMEA"], hr_contact_email=hr)
    await processed(svc, await publish(svc, created))
    p, _ = await form_pair(svc, cohort_id=cohort, formed_at=clock.now())
    await dispatcher.drain()
    # The week's programme health, from sessions' events: one session held (two topics taught by
    # the reverse mentor, one by the leader), one pulse rating of 4, one pair at risk.
    rid = uid("rel-")
    ids = dict(relationship_id=rid, pair_id=p.pair_id, cohort_id=cohort)
    people = dict(mentor_id=p.mentor.participant_id, mentee_id=p.mentee.participant_id)
    topics = [
        s.TopicCovered(topic=t, direction=d)  # type: ignore[arg-type]
        for t, d in (("a", "mentor_to_mentee"), ("b", "mentor_to_mentee"), ("c", "mentee_to_mentor"))
    ]
    sid = uid("sess-")
    held = s.SessionHeldV1(
        **ids,
        **people,
        session_id=sid,
        held_at=at(2025, 9, 4, 9),
        actual_duration_minutes=45,
        topics=topics,
        action_items=0,
    )
    pulse = s.FeedbackSubmittedV1(
        **ids,
        feedback_id=uid("fb-"),
        kind="pulse",
        by_participant_id=p.mentee.participant_id,
        by_side="mentee",
        session_id=sid,
        rating=4,
        submitted_at=at(2025, 9, 4, 12),
    )
    risk = s.PairAtRiskV1(
        **ids, **people, reason="cadence_slipping", detail="x", detected_at=at(2025, 9, 5, 9)
    )
    for evt in (held, pulse, risk):
        await processed(svc, await publish(svc, evt))
    await dispatcher.drain()
    clock.set(at(2025, 9, 8, 6, 30))  # Monday 08:30 in Paris
    for _ in range(2):
        async with svc.runtime.pool.acquire() as conn, conn.transaction():
            await digests.weekly_hr_digest(conn, clock.now(), svc.settings)  # type: ignore[arg-type]
    await dispatcher.drain()
    [report] = sink.messages(hr)
    assert report["Subject"] == "Bilan hebdomadaire du programme Promo Automne"
    body = report.get_body(("plain",)).get_content()
    assert "Séances tenues : 1 (1 binôme s\u2019est réuni)" in body
    assert "Équilibre des échanges : 0,67" in body  # 2 * min(2, 1) / 3, in French notation
    assert "Note des séances : 4 sur 5 (1 note)" in body
    assert "Binômes en difficulté : 1 (dont 1 nouveau cette semaine)" in body
    assert "Distribuées : " in body


async def test_inbox_api_lists_counts_and_marks_read(
    svc: RunningService, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 10, 1, 9))
    me, other = ref("Lena Vogel"), ref("Aiko Tanaka")
    p, _ = await form_pair(svc, other, me, formed_at=clock.now())
    sched = session_scheduled(p, at(2025, 10, 8, 9))
    await processed(svc, await publish(svc, sched))
    h = auth("participant", sub=me.employee_id)
    assert (await svc.client.get("/me/notifications/unread-count", headers=h)).json() == {"unread": 2}
    items = (await svc.client.get("/me/notifications", headers=h)).json()
    assert {i["kind"] for i in items} == {"pair_formed", "session_scheduled"}  # the reminder is not due yet
    clock.set(at(2025, 10, 7, 9))
    items = (await svc.client.get("/me/notifications", headers=h)).json()
    assert items[0]["kind"] == "session_reminder" and len(items) == 3
    r = await svc.client.post(f"/me/notifications/{items[0]['id']}/read", headers=h)
    assert r.status_code == 200
    assert (await svc.client.get("/me/notifications/unread-count", headers=h)).json() == {"unread": 2}
    unread = (await svc.client.get("/me/notifications", params={"unread_only": True}, headers=h)).json()
    assert len(unread) == 2
    # Someone else cannot mark my items; HR has no inbox here.
    assert (
        await svc.client.post(
            f"/me/notifications/{items[1]['id']}/read", headers=auth("participant", sub=other.employee_id)
        )
    ).status_code == 404
    assert (await svc.client.get("/me/notifications", headers=auth("hr_admin"))).status_code == 403
    assert (await svc.client.post("/me/notifications/read-all", headers=h)).json() == {"marked": 2}
    assert (await svc.client.get("/me/notifications/unread-count", headers=h)).json() == {"unread": 0}


async def test_preferences_validation_and_access(svc: RunningService) -> None:
    h = auth("participant", sub=uid("E"))
    bad = [
        {"quiet_start": "22:00"},
        {"locale": "xx"},
        {"timezone": "Mars/Olympus"},
        {"channels": ["pigeon"]},
        {"chat_webhook_url": "not a url"},
        {"digest": "hourly"},
    ]
    for body in bad:
        r = await svc.client.put("/me/preferences", headers=h, json=body)
        assert r.status_code == 422, (body, r.text)
    assert (await svc.client.put("/cohorts/c-x/notification-defaults", headers=h, json={})).status_code == 403
    r = await svc.client.put(
        "/cohorts/c-x/notification-defaults", headers=auth("hr_admin"), json={"escalate_after_days": 0}
    )
    assert r.status_code == 422


async def test_delivery_log_filters(svc: RunningService, clock: FrozenClock) -> None:
    clock.set(at(2025, 11, 3, 9))
    cohort = uid("c-")
    p, eid = await form_pair(svc, cohort_id=cohort, formed_at=clock.now())
    hr = auth("hr_admin")
    base = {"cohort_id": cohort}
    assert len((await svc.client.get("/deliveries", params=base, headers=hr)).json()) == 2
    for extra, n in [
        ({"kind": "pair_formed"}, 2),
        ({"kind": "closing_survey"}, 0),
        ({"channel": "chat"}, 0),
        ({"recipient_id": p.mentor.participant_id}, 1),
        ({"source_event_id": eid}, 2),
        ({"status": "pending"}, 2),
        ({"created_from": (clock.now() + timedelta(seconds=1)).isoformat()}, 0),
    ]:
        got = (await svc.client.get("/deliveries", params={**base, **extra}, headers=hr)).json()
        assert len(got) == n, extra
    # Regional HR sees only cohorts of its regions (this cohort's region is not known to be theirs).
    regional = auth("hr_regional", regions=("APAC",))
    assert (await svc.client.get("/deliveries", params=base, headers=regional)).json() == []
    assert (await svc.client.get("/deliveries", headers=auth("participant"))).status_code == 403
