"""Issue 19 downstream of matching, on a real service, PostgreSQL and broker: a person who left the
company (matching.person.left, or named by pair.closed v2 as the one who left) gets nothing more of
any kind (a reminder planned before is cancelled, the dispatcher and the daily digest check again at
send time, later events plan nothing for them); their partner is told (partner_left, with the links
to a new partner and to the closing survey) and HR gets hr_participant_left instead of the generic
alert; a pair flagged after a move reaches HR as hr_pair_flagged."""

from __future__ import annotations

from datetime import date

import pytest

from bridge_notifications.app import digests
from bridge_notifications.app.dispatch import Dispatcher
from bridge_notifications.db import directory
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s
from bridge_shared.messaging.sources import owner_source
from bridge_shared.scheduling.clock import FrozenClock
from tests.notifications.support import (
    Sink,
    at,
    form_pair,
    invite,
    notification_events,
    processed,
    publish,
    ref,
    rows,
    session_scheduled,
    uid,
)
from tests.service_harness import RunningService, auth, publish_event
from tests.shared.events_for_tests import sealed_event

pytestmark = pytest.mark.integration


def left(*participant_ids: str, cause: str = "deactivated") -> m.PersonLeftV1:
    return m.PersonLeftV1(
        person_id=uid("person-"),
        participant_ids=list(participant_ids),
        cause=cause,  # type: ignore[arg-type]
        left_on=date(2025, 3, 5),
        source="scim",
        left_at=at(2025, 3, 5, 12),
    )


def subjects(sink: Sink, to: str) -> list[str]:
    return [str(x["Subject"]) for x in sink.messages(to)]


async def test_a_reminder_planned_for_a_leaver_is_not_sent_and_nothing_later_reaches_them(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 3, 3, 9))
    stays, goes = ref("Aiko Tanaka"), ref("Lena Vogel")
    p, _ = await form_pair(svc, stays, goes)
    sched = session_scheduled(p, at(2025, 3, 10, 10))
    await processed(svc, await publish(svc, sched))
    await dispatcher.drain()
    before = len(sink.messages(str(goes.email)))
    assert before == 2  # pair_formed and session_scheduled went out before they left

    clock.set(at(2025, 3, 5, 12))
    await processed(svc, await publish(svc, left(goes.participant_id)))
    reminders = await rows(
        svc,
        "SELECT recipient_id, status, held_reason FROM deliveries WHERE kind = 'session_reminder' "
        "AND group_key LIKE $1",
        f"reminder:{sched.relationship_id}:%",
    )
    assert {(r["recipient_id"], r["status"], r["held_reason"]) for r in reminders} == {
        (goes.participant_id, "cancelled", "left_company"),
        (stays.participant_id, "pending", None),
    }
    clock.set(at(2025, 3, 9, 10))
    await dispatcher.drain()
    assert len(sink.messages(str(goes.email))) == before
    assert any(x.startswith("Reminder") for x in subjects(sink, str(stays.email)))

    # A later event about the pair (and its inbox item) plans nothing for them, only for the partner.
    ending = s.RelationshipEndingSoonV1(
        relationship_id=sched.relationship_id,
        pair_id=p.pair_id,
        cohort_id=p.cohort_id,
        mentor_id=stays.participant_id,
        mentee_id=goes.participant_id,
        end_date=date(2025, 4, 1),
    )
    eid = await publish(svc, ending)
    await processed(svc, eid)
    planned = await rows(svc, "SELECT recipient_id FROM deliveries WHERE source_event_id = $1", eid)
    assert {r["recipient_id"] for r in planned} == {stays.participant_id}
    items = await rows(svc, "SELECT recipient_id FROM inbox_items WHERE dedup_key LIKE $1", f"{eid}%")
    assert {r["recipient_id"] for r in items} == {stays.participant_id}


async def test_the_dispatcher_withholds_what_was_already_waiting_when_someone_is_known_to_have_left(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    """The race the cancellation cannot close: a row leased or planned just before the leave was
    recorded. Marked left without the cancellation, the dispatcher's own look-up stops it."""
    clock.set(at(2025, 3, 3, 9))
    stays, goes = ref("Aiko Tanaka"), ref("Lena Vogel")
    _, eid = await form_pair(svc, stays, goes)
    async with svc.runtime.pool.acquire() as conn:
        await directory.record_left(conn, [goes.participant_id], left_on=None, at=clock.now())
    await dispatcher.drain()
    assert sink.messages(str(goes.email)) == [] and len(sink.messages(str(stays.email))) == 1
    [row] = await rows(
        svc,
        "SELECT id, status, held_reason FROM deliveries WHERE source_event_id = $1 AND recipient_id = $2 "
        "AND channel = 'email'",
        eid,
        goes.participant_id,
    )
    assert (row["status"], row["held_reason"]) == ("cancelled", "left_company")
    assert await notification_events(svc.runtime.pool, row["id"]) == [], "withheld, not failed: no event"


async def test_the_daily_digest_skips_a_leaver(
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
    stays, goes = ref("Aiko Tanaka"), ref("Lena Vogel")
    # Held before the leave was known here at all (the digest's own check), and one via person.left.
    raced = ref("Noor Haddad")
    p, _ = await form_pair(svc, stays, goes, cohort_id=cohort, formed_at=clock.now())
    q, _ = await form_pair(svc, ref("Mira Okafor"), raced, cohort_id=cohort, formed_at=clock.now())
    for pair in (p, q):
        ending = s.RelationshipEndingSoonV1(
            relationship_id=uid("rel-"),
            pair_id=pair.pair_id,
            cohort_id=cohort,
            mentor_id=pair.mentor.participant_id,
            mentee_id=pair.mentee.participant_id,
            end_date=date(2025, 9, 1),
        )
        await processed(svc, await publish(svc, ending))
    held = await rows(
        svc,
        "SELECT DISTINCT recipient_id FROM deliveries WHERE status = 'digest' AND cohort_id = $1",
        cohort,
    )
    assert {goes.participant_id, raced.participant_id, stays.participant_id} <= {
        h["recipient_id"] for h in held
    }
    await processed(svc, await publish(svc, left(goes.participant_id)))
    async with svc.runtime.pool.acquire() as conn:
        await directory.record_left(conn, [raced.participant_id], left_on=None, at=clock.now())

    clock.set(at(2025, 8, 5, 6))  # 08:00 in Berlin
    async with svc.runtime.pool.acquire() as conn, conn.transaction():
        assert await digests.daily_digest(conn, clock.now(), svc.settings) >= 1  # type: ignore[arg-type]
    await dispatcher.drain()
    assert len(sink.messages(str(stays.email))) == 1  # the partner's digest
    assert sink.messages(str(goes.email)) == [] and sink.messages(str(raced.email)) == []
    for gone in (goes, raced):
        theirs = await rows(
            svc, "SELECT kind, status FROM deliveries WHERE recipient_id = $1", gone.participant_id
        )
        assert theirs and all(t["status"] == "cancelled" for t in theirs), theirs
        assert "daily_digest" not in {t["kind"] for t in theirs}


async def test_pair_closed_because_someone_left_tells_the_partner_and_hr_and_never_the_leaver(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher, admin_dsn: str
) -> None:
    clock.set(at(2025, 6, 2, 10))
    hr = f"{uid('hr.')}@bridge.example"
    stays, goes = ref("Aiko Tanaka", locale="de"), ref("Lena Vogel")
    p, _ = await form_pair(svc, stays, goes, hr=hr)
    await dispatcher.drain()
    mails_before = len(sink.messages(str(goes.email)))
    rid = uid("rel-")
    closed = s.PairClosedV2(
        relationship_id=rid,
        pair_id=p.pair_id,
        cohort_id=p.cohort_id,
        outcome="ended_early",
        reason="left the company",
        closed_at=at(2025, 6, 2, 9),
        sessions_held=4,
        mentor_id=stays.participant_id,
        mentee_id=goes.participant_id,
        hr_contact_email=hr,
        closing_survey_path=f"/relationships/{rid}/surveys/closing",
        closing_survey_due=date(2025, 6, 16),
        left_participant_id=goes.participant_id,
    )
    record = await sealed_event(closed, source=owner_source(closed.topic), dsn=admin_dsn)
    await publish_event(svc, record)
    await processed(svc, record.id)
    await dispatcher.drain()

    planned = await rows(
        svc, "SELECT recipient_id, kind FROM deliveries WHERE source_event_id = $1", record.id
    )
    assert {(r["recipient_id"], r["kind"]) for r in planned} == {
        (stays.participant_id, "partner_left"),
        (f"hr:{p.cohort_id}", "hr_participant_left"),
    }, "no closing survey to either, no generic early-close alert, nothing to the leaver"
    assert len(sink.messages(str(goes.email))) == mails_before

    [told] = [x for x in sink.messages(str(stays.email)) if "Unternehmen verlassen" in str(x["Subject"])]
    text = told.get_body(("plain",)).get_content()
    new_partner = f"https://bridge.test/cohorts/{p.cohort_id}/participants/{stays.participant_id}/suggestions"
    assert "Lena Vogel" in str(told["Subject"]) and new_partner in text
    assert f"https://bridge.test/relationships/{rid}/closing-survey" in text and "16. Juni 2025" in text
    inbox = (
        await svc.client.get("/me/notifications", headers=auth("participant", sub=stays.employee_id))
    ).json()
    assert [(i["kind"], i["link"]) for i in inbox if i["kind"] == "partner_left"] == [
        ("partner_left", new_partner)
    ]
    [alert] = [x for x in sink.messages(hr) if str(x["Subject"]).startswith("Left the company")]
    body = alert.get_body(("plain",)).get_content()
    assert "Lena Vogel (mentee) has left the company" in body and "Aiko Tanaka" in body
    assert "after 4 sessions" in body

    # The leaver is now known to have left: a later event, even in another cohort, plans nothing.
    _, later = await form_pair(svc, goes, ref("Noor Haddad"))
    assert (
        await rows(
            svc,
            "SELECT 1 FROM deliveries WHERE source_event_id = $1 AND recipient_id = $2",
            later,
            goes.participant_id,
        )
        == []
    )


async def test_a_flagged_pair_reaches_hr_with_the_rule_and_the_reason(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 6, 2, 10))
    hr = f"{uid('hr.')}@bridge.example"
    mentor, mentee = ref("Aiko Tanaka"), ref("Lena Vogel")
    p, _ = await form_pair(svc, mentor, mentee, hr=hr)
    await dispatcher.drain()
    flagged = m.PairFlaggedV1(
        pair_id=p.pair_id,
        cohort_id=p.cohort_id,
        mentor_id=mentor.participant_id,
        mentee_id=mentee.participant_id,
        moved_person_id=uid("person-"),
        rule="management_chain",
        reason="The mentee's new manager reports to the mentor.",
        hr_contact_email=hr,
        flagged_at=at(2025, 6, 2, 9),
    )
    eid = await publish(svc, flagged)
    await processed(svc, eid)
    await dispatcher.drain()
    planned = await rows(svc, "SELECT recipient_id, kind FROM deliveries WHERE source_event_id = $1", eid)
    assert {(r["recipient_id"], r["kind"]) for r in planned} == {(f"hr:{p.cohort_id}", "hr_pair_flagged")}
    [alert] = [x for x in sink.messages(hr) if str(x["Subject"]).startswith("Pair to review")]
    body = alert.get_body(("plain",)).get_content()
    assert "Aiko Tanaka" in body and "Lena Vogel" in body
    assert "management chain" in body and "new manager reports to the mentor" in body
    assert f"https://bridge.test/pairs/{p.pair_id}" in body


async def test_the_cancellation_of_a_session_of_a_pair_ended_by_a_leaver_goes_to_the_partner_only(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher, admin_dsn: str
) -> None:
    # sessions cancels the sessions to come before it sends pair.closed (same partition): the first
    # event notifications sees of the end may be a cancellation; it names the leaver already.
    clock.set(at(2025, 7, 1, 9))
    stays, goes = ref("Aiko Tanaka"), ref("Lena Vogel")
    p, _ = await form_pair(svc, stays, goes)
    sched = session_scheduled(p, at(2025, 7, 8, 10))
    await processed(svc, await publish(svc, sched))
    await dispatcher.drain()
    mails_before = len(sink.messages(str(goes.email)))
    cancel_invite = invite("CANCEL", seq=1)
    cancelled = s.SessionCancelledV2(
        relationship_id=sched.relationship_id,
        pair_id=p.pair_id,
        cohort_id=p.cohort_id,
        session_id=sched.session_id,
        mentor_id=stays.participant_id,
        mentee_id=goes.participant_id,
        starts_at=sched.starts_at,
        reason="relationship closed",
        invite=s.CalendarInviteV2(**cancel_invite.model_dump()),
        left_participant_id=goes.participant_id,
    )
    record = await sealed_event(cancelled, source=owner_source(cancelled.topic), dsn=admin_dsn)
    await publish_event(svc, record)
    await processed(svc, record.id)
    await dispatcher.drain()

    planned = await rows(
        svc, "SELECT recipient_id, kind FROM deliveries WHERE source_event_id = $1", record.id
    )
    assert {(r["recipient_id"], r["kind"]) for r in planned} == {(stays.participant_id, "session_cancelled")}
    assert len(sink.messages(str(goes.email))) == mails_before
    reminders = await rows(
        svc,
        "SELECT recipient_id, status FROM deliveries WHERE kind = 'session_reminder' AND group_key LIKE $1",
        f"reminder:{sched.relationship_id}:%",
    )
    assert {(r["recipient_id"], r["status"]) for r in reminders} == {
        (stays.participant_id, "cancelled"),
        (goes.participant_id, "cancelled"),
    }
