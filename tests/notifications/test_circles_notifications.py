"""Mentoring circles (issue 15) end to end in notifications: sealed circle events, as matching's and
sessions' outboxes write them, on the real broker -> the routing consumer -> rows -> the dispatcher
-> the real SMTP sink and the in-app inbox. One message per member in their own language and zone,
the group session's one calendar invite attached to each member's e-mail, reminders withdrawn when
the session is cancelled, the facilitator nudged and HR told later unless the risk is resolved,
and preferences (quiet hours), leavers and erased members respected."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from bridge_notifications.app.dispatch import Dispatcher
from bridge_notifications.db import directory
from bridge_notifications.domain import routing
from bridge_notifications.domain.circles import next_slot
from bridge_shared.contracts import circles as c
from bridge_shared.events.registry import EventPayload
from bridge_shared.messaging.sources import owner_source
from bridge_shared.scheduling.clock import FrozenClock
from tests.notifications.support import DAY, HOUR, Sink, at, processed, rows, uid
from tests.service_harness import RunningService, auth, publish_event
from tests.shared.events_for_tests import erase_keys, sealed_event

pytestmark = pytest.mark.integration

# name, locale, zone, generation (the first is the facilitator)
PEOPLE = (
    ("Aiko Tanaka", "ja", "Asia/Tokyo", "senior"),
    ("Lena Vogel", "de", "Europe/Berlin", "junior"),
    ("Camille Martin", "fr", "Europe/Paris", "junior"),
    ("Diego Ruiz", "es", "America/Mexico_City", "senior"),
    ("Sam Carter", "en", "America/New_York", "other"),
)
# "You are invited to a mentoring circle" in each member's language.
INVITED = {
    "ja": "メンタリング・サークルへのご招待",
    "de": "Einladung in einen Mentoring-Kreis",
    "fr": "Invitation à un cercle de mentorat",
    "es": "Invitación a un círculo de mentoría",
    "en": "You are invited to a mentoring circle",
}


def member(name: str, locale: str, tz: str, generation: str) -> c.CircleMember:
    first = name.split()[0].lower()
    return c.CircleMember(
        participant_id=uid("p-"),
        employee_id=uid("E"),
        display_name=name,
        email=f"{uid(first + '.')}@bridge.example",
        region="EMEA",
        department="Finance",
        seniority_level=9 if generation == "senior" else 2 if generation == "junior" else 6,
        generation=generation,
        timezone=tz,
        locale=locale,
    )


class Circle:
    """A circle of five and the events about it, each built as its producer's outbox would."""

    def __init__(self, svc: RunningService, dsn: str, *, hr: str | None = None) -> None:
        self.svc, self.dsn = svc, dsn
        self.circle_id, self.cohort_id = uid("circle-"), uid("c-")
        self.members = [member(*p) for p in PEOPLE]
        self.facilitator = self.members[0]
        self.hr = hr

    @property
    def ids(self) -> list[str]:
        return [m.participant_id for m in self.members]

    def base(self) -> dict[str, Any]:
        return {"circle_id": self.circle_id, "cohort_id": self.cohort_id}

    def session(self, session_id: str) -> dict[str, Any]:
        return {
            **self.base(),
            "session_id": session_id,
            "member_ids": self.ids,
            "facilitator_id": self.facilitator.participant_id,
            "member_timezones": {m.participant_id: m.timezone for m in self.members},
        }

    async def publish(self, payload: EventPayload) -> str:
        evt = await sealed_event(payload, source=owner_source(payload.topic), dsn=self.dsn)
        await publish_event(self.svc, evt)
        await processed(self.svc, evt.id)
        return evt.id

    def explanation(self) -> c.CircleExplanation:
        return c.CircleExplanation(
            score=0.9, breakdown={"mix": 0.5, "skill coverage": 0.4}, summary="Two-way skills in every pair"
        )

    def proposed(self, slot: c.WeeklySlot | None) -> c.CircleProposedV1:
        return c.CircleProposedV1(
            **self.base(),
            member_ids=self.ids,
            members=self.members,
            facilitator_id=self.facilitator.participant_id,
            language="en",
            weekly_slot=slot,
            explanation=self.explanation(),
            expires_at=at(2025, 3, 10, 9),
        )

    def formed(self, when: datetime) -> c.CircleFormedV1:
        return c.CircleFormedV1(
            **self.base(),
            member_ids=self.ids,
            members=self.members,
            facilitator_id=self.facilitator.participant_id,
            language="en",
            explanation=self.explanation(),
            formed_at=when,
            programme_end=date(2025, 9, 30),
            hr_contact_email=self.hr,
        )

    def invite(self, method: str = "REQUEST", seq: int = 0) -> c.CircleInvite:
        attendees = "".join(f"ATTENDEE;CN={m.display_name}:mailto:{m.email}\r\n" for m in self.members)
        ics = (
            f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Bridge//EN\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\n"
            f"UID:{self.circle_id}@bridge\r\nSEQUENCE:{seq}\r\n{attendees}END:VEVENT\r\nEND:VCALENDAR\r\n"
        )
        return c.CircleInvite(uid=f"{self.circle_id}@bridge", sequence=seq, method=method, ics=ics)

    def at_risk(self, detected: datetime, escalate: datetime) -> c.CircleAtRiskV1:
        return c.CircleAtRiskV1(
            **self.base(),
            member_ids=self.ids,
            facilitator_id=self.facilitator.participant_id,
            reason="dominant_voice",
            detected_at=detected,
            escalate_at=escalate,
            hr_contact_email=self.hr,
        )


def text(msg: Any) -> str:
    return str(msg.get_body(("plain",)).get_content())


async def test_the_routing_table_names_every_circle_event_and_who_hears(svc: RunningService) -> None:
    table = (await svc.client.get("/routing", headers=auth("hr_admin"))).json()
    notified = {(r["event"], r["kind"], r["to"]) for r in table if r["action"] == "notify"}
    cancels = {(r["event"], r["group"]) for r in table if r["action"] == "cancel"}
    assert {
        (c.CircleProposedV1.event_type, "circle_proposed", "members"),
        (c.CircleRefilledV1.event_type, "circle_refilled", "newcomer"),
        (c.CircleRefilledV1.event_type, "circle_member_changed", "facilitator"),
        (c.CircleFormedV1.event_type, "circle_formed", "members"),
        (c.CircleAgreementDraftedV1.event_type, "circle_agreement_to_confirm", "others"),
        (c.CircleAgreementDraftedV1.event_type, "circle_agreement_reminder", "others"),
        (c.CircleSessionScheduledV1.event_type, "circle_session_scheduled", "members"),
        (c.CircleSessionScheduledV1.event_type, "circle_session_reminder", "members"),
        (c.CircleSessionScheduledV1.event_type, "circle_activity_prompt", "facilitator"),
        (c.CircleSessionRescheduledV1.event_type, "circle_session_rescheduled", "members"),
        (c.CircleSessionCancelledV1.event_type, "circle_session_cancelled", "members"),
        (c.CircleAtRiskV1.event_type, "circle_health_nudge", "facilitator"),
        (c.CircleAtRiskV1.event_type, "circle_escalation", "hr"),
        (c.CircleClosedV1.event_type, "circle_closed", "members"),
        (c.CircleDissolvedV1.event_type, "circle_dissolved", "members"),
    } <= notified
    assert {
        (c.CircleSessionRescheduledV1.event_type, routing.CIRCLE_REMINDER),
        (c.CircleSessionCancelledV1.event_type, routing.CIRCLE_REMINDER),
        (c.CircleAgreementConfirmedV1.event_type, routing.CIRCLE_AGREEMENT),
        (c.CircleRiskResolvedV1.event_type, routing.CIRCLE_ESCALATION),
        (c.CircleClosedV1.event_type, routing.CIRCLE_ALL + "*"),
    } <= cancels
    invites = {r["kind"] for r in table if r["action"] == "notify" and r["attach_invite"]}
    assert {"circle_session_scheduled", "circle_session_rescheduled", "circle_session_cancelled"} <= invites
    # Both circle topics are read by the routing consumer.
    assert {c.CircleProposedV1.topic, c.CircleSessionScheduledV1.topic} <= {
        p.topic for p in routing.ROUTED_PAYLOADS
    }


async def test_one_message_per_member_in_their_language_and_zone_and_one_invite_each(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher, admin_dsn: str
) -> None:
    clock.set(at(2025, 3, 3, 9))
    circle = Circle(svc, admin_dsn)
    # Mondays 09:00-10:00 UTC: 18:00 in Tokyo, 10:00 in Berlin, 04:00 in New York (before DST).
    slot = c.WeeklySlot(weekday=0, start_minute=9 * 60, duration_minutes=60)
    eid = await circle.publish(circle.proposed(slot))
    await dispatcher.drain()
    for m in circle.members:
        [msg] = sink.messages(str(m.email))
        assert msg["Subject"] == INVITED[m.locale]
        body = text(msg)
        others = [o.display_name for o in circle.members if o is not m]
        assert all(name in body for name in others) and m.display_name in body.splitlines()[0]
        assert f"/circles/{circle.circle_id}/invitation?response=accept" in body
        assert f"/circles/{circle.circle_id}/invitation?response=decline" in body
        assert list(msg.iter_attachments()) == []
    ja, de, en = (text(sink.messages(str(circle.members[i].email))[0]) for i in (0, 1, 4))
    assert "18:00" in ja and "月曜日" in ja and "英語" in ja  # the slot and the language, in Japanese
    assert "10:00\u201311:00" in de and "Montag" in de and "Englisch" in de
    assert "4:00\u202fAM\u20135:00\u202fAM" in en and "Why this circle: Two-way skills" in en
    assert "Why this circle" not in de  # the explanation is English: shown to English readers only
    assert "Aiko Tanaka would be its facilitator." in en
    assert "あなたにファシリテーターをお願いする予定です" in ja  # the facilitator is told
    # One delivery per member and channel, and one inbox item each.
    planned = await rows(svc, "SELECT recipient_id, channel FROM deliveries WHERE source_event_id = $1", eid)
    assert sorted(r["recipient_id"] for r in planned) == sorted(circle.ids)
    items = (
        await svc.client.get(
            "/me/notifications", headers=auth("participant", sub=circle.members[2].employee_id)
        )
    ).json()
    assert [(i["kind"], i["link"].endswith("response=accept")) for i in items] == [("circle_proposed", True)]

    # A group session: one invite naming every member, attached once to each member's e-mail, the
    # time in their own zone; reminders for all, an activity prompt for the facilitator only.
    session_id = uid("cs-")
    starts = at(2025, 3, 17, 9)
    sched = c.CircleSessionScheduledV1(
        **circle.session(session_id), starts_at=starts, duration_minutes=90, invite=circle.invite()
    )
    await circle.publish(sched)
    await dispatcher.drain()
    for m in circle.members:
        [msg] = [x for x in sink.messages(str(m.email)) if list(x.iter_attachments())]
        [ics] = list(msg.iter_attachments())
        assert ics.get_content_type() == "text/calendar" and ics.get_param("method") == "REQUEST"
        assert ics.get_content().count("ATTENDEE") == len(circle.members)
        assert f"UID:{circle.circle_id}@bridge" in ics.get_content()
    assert "18:00" in text(
        next(x for x in sink.messages(str(circle.members[0].email)) if "セッション" in x["Subject"])
    )
    assert "10:00" in text(
        next(x for x in sink.messages(str(circle.members[1].email)) if "Treffen" in x["Subject"])
    )
    group = f"circle:{circle.circle_id}:session:{session_id}"
    waiting = await rows(
        svc,
        "SELECT recipient_id, kind, due_at, status FROM deliveries WHERE group_key = $1 AND channel = 'email'",
        group,
    )
    reminders = {r["recipient_id"]: r["due_at"] for r in waiting if r["kind"] == "circle_session_reminder"}
    assert reminders == {pid: starts - 24 * HOUR for pid in circle.ids}
    prompts = [r for r in waiting if r["kind"] == "circle_activity_prompt"]
    assert [(r["recipient_id"], r["due_at"]) for r in prompts] == [
        (circle.facilitator.participant_id, starts - 48 * HOUR)
    ]

    # Cancelled: the reminders and the prompt are withdrawn (mail and inbox), everyone gets the
    # cancellation with the same invite as METHOD:CANCEL, and nothing more goes out later.
    cancelled = c.CircleSessionCancelledV1(
        **circle.session(session_id), starts_at=starts, invite=circle.invite("CANCEL", 1)
    )
    await circle.publish(cancelled)
    after = await rows(svc, "SELECT DISTINCT status FROM deliveries WHERE group_key = $1", group)
    assert after == [{"status": "cancelled"}]
    visible = await rows(
        svc, "SELECT count(*) AS n FROM inbox_items WHERE group_key = $1 AND withdrawn_at IS NULL", group
    )
    assert visible == [{"n": 0}]
    await dispatcher.drain()
    for m in circle.members:
        cancellations = [
            x
            for x in sink.messages(str(m.email))
            if any(a.get_param("method") == "CANCEL" for a in x.iter_attachments())
        ]
        assert len(cancellations) == 1 and len(list(cancellations[0].iter_attachments())) == 1
    before = {m.participant_id: len(sink.messages(str(m.email))) for m in circle.members}
    clock.set(starts - HOUR)
    await dispatcher.drain()
    assert {m.participant_id: len(sink.messages(str(m.email))) for m in circle.members} == before


async def test_a_rescheduled_session_moves_the_reminders_and_keeps_the_picked_activity(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher, admin_dsn: str
) -> None:
    clock.set(at(2025, 4, 1, 9))
    circle = Circle(svc, admin_dsn)
    await circle.publish(circle.formed(clock.now()))
    session_id = uid("cs-")
    first = at(2025, 4, 2, 9)  # in 24 h: the reminder's time has passed, the prompt goes out at once
    await circle.publish(
        c.CircleSessionScheduledV1(
            **circle.session(session_id),
            starts_at=first,
            duration_minutes=60,
            activity_id="promote-a-product",
            invite=circle.invite(),
        )
    )
    group = f"circle:{circle.circle_id}:session:{session_id}"
    planned = await rows(
        svc, "SELECT kind, due_at FROM deliveries WHERE group_key = $1 AND channel = 'email'", group
    )
    assert planned == [{"kind": "circle_activity_prompt", "due_at": clock.now()}]
    await dispatcher.drain()
    [prompt] = [x for x in sink.messages(str(circle.facilitator.email)) if "準備" in x["Subject"]]
    assert "アクティビティは選択済みです" in text(prompt)
    assert f"/circles/{circle.circle_id}/sessions/{session_id}/activity" in text(prompt)

    moved = at(2025, 4, 9, 9)
    await circle.publish(
        c.CircleSessionRescheduledV1(
            **circle.session(session_id),
            starts_at=moved,
            previous_starts_at=first,
            duration_minutes=60,
            invite=circle.invite(seq=1),
        )
    )
    waiting = await rows(
        svc,
        "SELECT kind, due_at FROM deliveries WHERE group_key = $1 AND channel = 'email' AND status = 'pending'",
        group,
    )
    assert sorted((r["kind"], r["due_at"]) for r in waiting) == sorted(
        [("circle_session_reminder", moved - DAY)] * len(circle.members)
        + [("circle_activity_prompt", moved - 2 * DAY)]
    )
    clock.set(moved - 2 * DAY)
    await dispatcher.drain()
    prompts = [x for x in sink.messages(str(circle.facilitator.email)) if "準備" in x["Subject"]]
    assert len(prompts) == 2 and "アクティビティは選択済みです" in text(prompts[-1])  # remembered
    de = [x for x in sink.messages(str(circle.members[1].email)) if "verschoben" in x["Subject"]]
    assert len(de) == 1 and [a.get_param("method") for a in de[0].iter_attachments()] == ["REQUEST"]


async def test_health_nudges_the_facilitator_then_hr_unless_the_risk_is_resolved(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher, admin_dsn: str
) -> None:
    clock.set(at(2025, 5, 5, 9))
    hr = f"{uid('hr.')}@bridge.example"
    resolved, stuck = Circle(svc, admin_dsn, hr=hr), Circle(svc, admin_dsn, hr=hr)
    for circle in (resolved, stuck):
        circle.cohort_id = resolved.cohort_id
        await circle.publish(circle.formed(clock.now()))
        await circle.publish(circle.at_risk(clock.now(), clock.now() + 5 * DAY))
    await dispatcher.drain()
    for circle in (resolved, stuck):
        nudges = [x for x in sink.messages(str(circle.facilitator.email)) if "様子" in x["Subject"]]
        assert len(nudges) == 1 and "一人の発言が目立ちすぎている" in text(nudges[0])
        nudged = await rows(
            svc,
            "SELECT DISTINCT recipient_id FROM deliveries WHERE kind = 'circle_health_nudge' AND recipient_id = ANY($1)",
            circle.ids,
        )
        assert nudged == [{"recipient_id": circle.facilitator.participant_id}]  # only the facilitator
    escalations = await rows(
        svc,
        "SELECT group_key, due_at, status FROM deliveries WHERE kind = 'circle_escalation' AND cohort_id = $1",
        resolved.cohort_id,
    )
    assert {(r["group_key"], r["due_at"], r["status"]) for r in escalations} == {
        (f"circle:{x.circle_id}:escalation:dominant_voice", clock.now() + 5 * DAY, "pending")
        for x in (resolved, stuck)
    }
    await resolved.publish(
        c.CircleRiskResolvedV1(**resolved.base(), reason="dominant_voice", resolved_at=clock.now() + DAY)
    )
    clock.set(at(2025, 5, 10, 9))
    await dispatcher.drain()
    [alert] = sink.messages(hr)
    assert alert["Subject"] == "A mentoring circle needs attention"
    body = text(alert)
    assert "Aiko Tanaka" in body and "one voice is dominating" in body
    assert f"/hr/cohorts/{stuck.cohort_id}/circles/{stuck.circle_id}" in body
    states = {
        r["group_key"].split(":")[1]: r["status"]
        for r in await rows(
            svc,
            "SELECT group_key, status FROM deliveries WHERE kind = 'circle_escalation' AND cohort_id = $1",
            resolved.cohort_id,
        )
    }
    assert states == {resolved.circle_id: "cancelled", stuck.circle_id: "sent"}


async def test_the_agreement_goes_to_the_others_and_its_reminder_ends_when_confirmed(
    svc: RunningService, clock: FrozenClock, dispatcher: Dispatcher, admin_dsn: str
) -> None:
    clock.set(at(2025, 6, 2, 9))
    circle = Circle(svc, admin_dsn)
    await circle.publish(circle.formed(clock.now()))
    drafter = circle.members[3]
    eid = await circle.publish(
        c.CircleAgreementDraftedV1(
            **circle.base(),
            member_ids=circle.ids,
            version=1,
            drafted_by=drafter.participant_id,
            end_date=date(2025, 9, 30),
            cadence_days=14,
        )
    )
    prompted = await rows(
        svc,
        "SELECT DISTINCT recipient_id, kind, status FROM deliveries WHERE source_event_id LIKE $1",
        f"{eid}%",
    )
    assert {r["recipient_id"] for r in prompted} == set(circle.ids) - {drafter.participant_id}
    assert {r["kind"] for r in prompted} == {"circle_agreement_to_confirm", "circle_agreement_reminder"}
    await dispatcher.drain()
    [de] = [
        x
        for x in (await _sent(svc, circle.members[1].participant_id))
        if x["kind"] == "circle_agreement_to_confirm"
    ]
    assert "Diego Ruiz hat die Vereinbarung" in de["body_text"] and "alle 14 Tage" in de["body_text"]
    await circle.publish(
        c.CircleAgreementConfirmedV1(
            **circle.base(),
            member_ids=circle.ids,
            version=1,
            end_date=date(2025, 9, 30),
            cadence_days=14,
            confirmed_at=clock.now() + DAY,
        )
    )
    reminders = await rows(
        svc,
        "SELECT DISTINCT status FROM deliveries WHERE group_key = $1",
        f"circle:{circle.circle_id}:agreement",
    )
    assert reminders == [{"status": "cancelled"}]


async def _sent(svc: RunningService, recipient_id: str) -> list[dict[str, Any]]:
    return await rows(
        svc,
        "SELECT kind, body_text FROM deliveries WHERE recipient_id = $1 AND channel = 'email' AND status = 'sent'",
        recipient_id,
    )


async def test_quiet_hours_leavers_and_erased_members_as_for_every_kind(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher, admin_dsn: str
) -> None:
    """A member's quiet hours hold their message back (not the others'); a member who left the
    company and an erased member get nothing, are not named, and do not stop the others' messages."""
    clock.set(at(2025, 7, 7, 21))  # 23:00 in Berlin
    circle = Circle(svc, admin_dsn)
    sleeper, leaver, erased = circle.members[1], circle.members[2], circle.members[3]
    r = await svc.client.put(
        "/me/preferences",
        headers=auth("participant", sub=sleeper.employee_id),
        json={"quiet_start": "22:00", "quiet_end": "07:00"},
    )
    assert r.status_code == 200, r.text
    async with svc.runtime.pool.acquire() as conn:
        await directory.record_left(conn, [leaver.participant_id], left_on=None, at=clock.now())
    await erase_keys([erased.participant_id], dsn=admin_dsn)
    eid = await circle.publish(circle.formed(clock.now()))
    planned = await rows(
        svc, "SELECT recipient_id, due_at, held_reason FROM deliveries WHERE source_event_id = $1", eid
    )
    assert {r["recipient_id"] for r in planned} == set(circle.ids) - {
        leaver.participant_id,
        erased.participant_id,
    }
    [held] = [r for r in planned if r["recipient_id"] == sleeper.participant_id]
    assert (held["held_reason"], held["due_at"]) == ("quiet_hours", at(2025, 7, 8, 5))  # 07:00 CEST
    await dispatcher.drain()
    assert sink.messages(str(sleeper.email)) == [] and sink.messages(str(leaver.email)) == []
    [en] = sink.messages(str(circle.members[4].email))
    assert erased.display_name not in text(en) and leaver.display_name in text(en)
    clock.set(at(2025, 7, 8, 5))
    await dispatcher.drain()
    [de] = sink.messages(str(sleeper.email))
    assert de["Subject"] == "Ihr Mentoring-Kreis steht"


def test_the_weekly_slot_is_its_next_occurrence() -> None:
    slot = c.WeeklySlot(weekday=2, start_minute=23 * 60 + 30, duration_minutes=60)  # Wed 23:30 UTC
    assert next_slot(slot, at(2025, 3, 3, 9)) == (at(2025, 3, 5, 23, 30), at(2025, 3, 6, 0, 30))
    assert next_slot(slot, at(2025, 3, 6, 0)) == (at(2025, 3, 12, 23, 30), at(2025, 3, 13, 0, 30))
    assert next_slot(slot, at(2025, 3, 5, 23, 30))[0] == at(2025, 3, 5, 23, 30)
