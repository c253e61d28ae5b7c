"""Every routing rule, end to end: a real event on the broker -> the service's consumer -> rows ->
the dispatcher -> the real SMTP sink (and the in-app inbox)."""

from __future__ import annotations

import pytest

from bridge_notifications.app.dispatch import Dispatcher
from bridge_notifications.domain import routing
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s
from bridge_shared.scheduling.clock import FrozenClock
from tests.notifications.support import (
    DAY,
    HOUR,
    Sink,
    Webhooks,
    adaptive_card,
    at,
    card_texts,
    explanation,
    form_pair,
    invite,
    processed,
    publish,
    ref,
    rows,
    session_scheduled,
    uid,
)
from tests.service_harness import RunningService, auth

pytestmark = pytest.mark.integration


async def formed_pair(
    svc: RunningService, *, mentor_locale: str = "en", mentee_locale: str = "de", hr: str | None = None
) -> tuple[m.PairFormedV1, str]:
    mentor = ref("Aiko Tanaka", locale=mentor_locale, tz="Asia/Tokyo")
    mentee = ref("Lena Vogel", locale=mentee_locale, tz="Europe/Berlin")
    return await form_pair(svc, mentor, mentee, hr=hr)


async def test_match_proposed_asks_both_to_accept_or_decline(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 3, 3, 9))
    mentor, mentee = ref("Aiko Tanaka", locale="ja", tz="Asia/Tokyo"), ref("Lena Vogel", locale="fr")
    p = m.MatchProposedV1(
        proposal_id=uid("prop-"),
        cohort_id=uid("c-"),
        mentor=mentor,
        mentee=mentee,
        explanation=explanation(),
        expires_at=at(2025, 3, 10, 9),
    )
    await processed(svc, await publish(svc, p))
    await dispatcher.drain()
    [ja] = sink.messages(str(mentor.email))
    [fr] = sink.messages(str(mentee.email))
    assert "Lena Vogel" in ja["Subject"] and "ペア候補" in ja["Subject"]
    assert "Proposition" in fr["Subject"]
    for msg in (ja, fr):
        text = msg.get_body(("plain",)).get_content()
        assert f"/proposals/{p.proposal_id}?response=accept" in text
        assert f"/proposals/{p.proposal_id}?response=decline" in text
    assert "18:00" in ja.get_body(("plain",)).get_content()  # 09:00 UTC in Tokyo
    inbox = (
        await svc.client.get("/me/notifications", headers=auth("participant", sub=mentor.employee_id))
    ).json()
    assert [i["kind"] for i in inbox] == ["match_proposed"]
    assert inbox[0]["link"].endswith("response=accept")


async def test_pair_formed_sends_kickoff_guidance_to_both(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 3, 3, 9))
    p, _ = await formed_pair(svc)
    await dispatcher.drain()
    [en] = sink.messages(str(p.mentor.email))
    [de] = sink.messages(str(p.mentee.email))
    en_text = en.get_body(("plain",)).get_content()
    for needle in ("goals", "measure progress", "meeting rhythm", "end date", "/preferences/"):
        assert needle in en_text
    de_text = de.get_body(("plain",)).get_content()
    for needle in ("Ziele", "Fortschritt", "Rhythmus", "Enddatum", "/preferences/"):
        assert needle in de_text
    assert de.get_body(("html",)) is not None and "<li>" in de.get_body(("html",)).get_content()


async def test_session_scheduled_rescheduled_cancelled_with_ics_and_reminders(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 3, 3, 9))
    p, _ = await formed_pair(svc)
    await dispatcher.drain()
    sched = session_scheduled(p, at(2025, 3, 10, 10), location="Room 4")
    await processed(svc, await publish(svc, sched))
    await dispatcher.drain()
    mails = sink.messages(str(p.mentor.email))
    scheduled = [x for x in mails if "Session with" in x["Subject"]]
    assert len(scheduled) == 1
    [ics] = list(scheduled[0].iter_attachments())
    assert ics.get_content_type() == "text/calendar" and ics.get_param("method") == "REQUEST"
    assert "BEGIN:VCALENDAR" in ics.get_content()
    reminders = await rows(
        svc,
        "SELECT * FROM deliveries WHERE kind = 'session_reminder' AND group_key LIKE $1",
        f"reminder:{sched.relationship_id}:%",
    )
    assert len(reminders) == 2 and {r["due_at"] for r in reminders} == {at(2025, 3, 9, 10)}

    # Moved by a day: the first reminders are cancelled, new ones are due 24 h before the new time.
    moved = s.SessionRescheduledV1(
        **{
            **sched.model_dump(exclude={"invite", "location"}),
            "previous_starts_at": sched.starts_at,
            "starts_at": at(2025, 3, 11, 10),
            "invite": invite(seq=1),
        }
    )
    await processed(svc, await publish(svc, moved))
    await dispatcher.drain()
    reminders = await rows(
        svc,
        "SELECT status, due_at FROM deliveries WHERE kind = 'session_reminder' "
        "AND group_key LIKE $1 ORDER BY due_at",
        f"reminder:{sched.relationship_id}:%",
    )
    assert [(r["status"], r["due_at"]) for r in reminders] == [("cancelled", at(2025, 3, 9, 10))] * 2 + [
        ("pending", at(2025, 3, 10, 10))
    ] * 2
    assert any("moved" in x["Subject"] for x in sink.messages(str(p.mentor.email)))

    # At the reminder's time it goes out, once per person, in their language.
    clock.set(at(2025, 3, 10, 10))
    await dispatcher.drain()
    assert len([x for x in sink.messages(str(p.mentor.email)) if x["Subject"].startswith("Reminder")]) == 1
    assert len([x for x in sink.messages(str(p.mentee.email)) if x["Subject"].startswith("Erinnerung")]) == 1

    # A second session, cancelled: its reminder never goes out; the cancellation carries METHOD:CANCEL.
    clock.set(at(2025, 3, 12, 9))
    second = session_scheduled(
        p, at(2025, 3, 20, 10), relationship_id=sched.relationship_id, location="Room 4"
    )
    await processed(svc, await publish(svc, second))
    cancelled = s.SessionCancelledV1(
        relationship_id=sched.relationship_id,
        pair_id=p.pair_id,
        cohort_id=p.cohort_id,
        session_id=second.session_id,
        mentor_id=p.mentor.participant_id,
        mentee_id=p.mentee.participant_id,
        starts_at=second.starts_at,
        cancelled_by=p.mentee.participant_id,
        invite=invite("CANCEL", 1),
    )
    await processed(svc, await publish(svc, cancelled))
    await dispatcher.drain()
    left = await rows(
        svc,
        "SELECT status FROM deliveries WHERE kind = 'session_reminder' AND group_key = $1",
        f"reminder:{sched.relationship_id}:{second.session_id}",
    )
    assert [r["status"] for r in left] == ["cancelled", "cancelled"]
    [c] = [x for x in sink.messages(str(p.mentee.email)) if "abgesagt" in x["Subject"]]
    assert next(iter(c.iter_attachments())).get_param("method") == "CANCEL"
    clock.set(at(2025, 3, 19, 10))
    await dispatcher.drain()
    assert len([x for x in sink.messages(str(p.mentor.email)) if x["Subject"].startswith("Reminder")]) == 1


async def test_session_scheduled_chat_and_inbox_do_not_claim_the_invite_that_only_the_email_carries(
    svc: RunningService, sink: Sink, hooks: Webhooks, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    """The mentor gets e-mail (with the .ics), Teams chat and the inbox: chat and inbox say the
    invite comes by e-mail. The mentee (German) has chosen Slack and the inbox, no e-mail: nothing
    of theirs mentions an invite, since none reaches them."""
    clock.set(at(2025, 3, 4, 9))
    mentor = ref("Aiko Tanaka", locale="en", tz="Asia/Tokyo")
    mentee = ref("Lena Vogel", locale="de", tz="Europe/Berlin")
    teams, slack = f"/teams-{uid()}", f"/slack-{uid()}"
    for who, channels, path, fmt in (
        (mentor, ["email", "chat", "inbox"], teams, "teams"),
        (mentee, ["chat", "inbox"], slack, "slack"),
    ):
        r = await svc.client.put(
            "/me/preferences",
            headers=auth("participant", sub=who.employee_id),
            json={"channels": channels, "chat_webhook_url": hooks.url(path), "chat_format": fmt},
        )
        assert r.status_code == 200, r.text
    p, _ = await form_pair(svc, mentor, mentee)
    sched = session_scheduled(p, at(2025, 3, 10, 10), location="Room 4")
    await processed(svc, await publish(svc, sched))
    await dispatcher.drain()
    space = f"https://bridge.test/relationships/{sched.relationship_id}"

    # E-mail: the invite is attached, and the text says so.
    [mail] = [x for x in sink.messages(str(mentor.email)) if x["Subject"].startswith("Session with")]
    [ics] = list(mail.iter_attachments())
    assert ics.get_content_type() == "text/calendar" and "BEGIN:VCALENDAR" in ics.get_content()
    assert "The calendar invitation is attached." in mail.get_body(("plain",)).get_content()

    # Teams: an Adaptive Card that points to the e-mail, with the mentoring space as a button.
    [card] = [adaptive_card(m) for m in hooks.received[teams] if "Session with" in str(m)]
    assert card["body"][0]["text"] == mail["Subject"]
    texts = "\n".join(card_texts(card))
    assert "attach" not in texts.lower() and "The calendar invitation is sent to you by e-mail." in texts
    assert {"type": "Action.OpenUrl", "title": "Open your mentoring space", "url": space} in card["actions"]

    # Slack, in German, for someone without e-mail: no attachment, and no e-mail to point to.
    [text] = [m["text"] for m in hooks.received[slack] if m["text"].startswith("*Treffen mit")]
    assert "angehängt" not in text and "E-Mail" not in text and "Kalendereinladung" not in text
    assert f"Ihren Mentoring-Bereich öffnen: {space}" in text
    assert sink.messages(str(mentee.email)) == []

    # The inbox says what the chat says.
    for who, claim in ((mentor, "sent to you by e-mail"), (mentee, None)):
        inbox = (
            await svc.client.get("/me/notifications", headers=auth("participant", sub=who.employee_id))
        ).json()
        [item] = [i for i in inbox if i["kind"] == "session_scheduled"]
        body = item["body"].lower()
        assert "attach" not in body and "angehängt" not in body and item["link"] == space
        assert (claim in body) if claim else ("e-mail" not in body)
    stored = await rows(
        svc,
        "SELECT recipient_id, channel, attachments FROM deliveries "
        "WHERE cohort_id = $1 AND kind = 'session_scheduled'",
        p.cohort_id,
    )
    assert sorted(
        (r["recipient_id"] == mentor.participant_id, r["channel"], len(r["attachments"])) for r in stored
    ) == [
        (False, "chat", 0),
        (True, "chat", 0),
        (True, "email", 1),
    ]


async def test_at_risk_nudges_then_escalates_to_hr_unless_resolved(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 4, 1, 9))
    hr = f"{uid('hr.')}@bridge.example"
    p, _ = await formed_pair(svc, hr=hr)
    rid, rid2 = uid("rel-"), uid("rel-")
    common = dict(
        pair_id=p.pair_id,
        cohort_id=p.cohort_id,
        mentor_id=p.mentor.participant_id,
        mentee_id=p.mentee.participant_id,
        detected_at=at(2025, 4, 1, 9),
        detail="x",
    )
    inactive = s.PairAtRiskV1(relationship_id=rid, reason="inactive", **common)  # type: ignore[arg-type]
    one_way = s.PairAtRiskV1(relationship_id=rid2, reason="one_directional", **common)  # type: ignore[arg-type]
    await processed(svc, await publish(svc, inactive))
    await processed(svc, await publish(svc, one_way))
    await dispatcher.drain()
    subjects = [x["Subject"] for x in sink.messages(str(p.mentor.email))]
    assert any(x.startswith("How is your mentoring") for x in subjects)
    assert any(x.startswith("Make your mentoring") for x in subjects)
    assert any("Lernen in beide Richtungen" in x["Subject"] for x in sink.messages(str(p.mentee.email)))

    # The one-directional risk is resolved within the window: its escalation is withdrawn.
    resolved = s.PairRiskResolvedV1(
        relationship_id=rid2,
        pair_id=p.pair_id,
        cohort_id=p.cohort_id,
        reason="one_directional",
        resolved_at=at(2025, 4, 3),
    )
    await processed(svc, await publish(svc, resolved))
    clock.set(at(2025, 4, 7, 9))
    await dispatcher.drain()
    assert sink.messages(hr) == []  # 6 days: not yet
    clock.set(at(2025, 4, 8, 9))
    await dispatcher.drain()
    [esc] = sink.messages(hr)
    assert (
        "Aiko Tanaka" in esc["Subject"]
        and "no session has been held" in esc.get_body(("plain",)).get_content()
    )
    statuses = await rows(
        svc,
        "SELECT group_key, status FROM deliveries WHERE kind = 'at_risk_escalation' "
        "AND cohort_id = $1 ORDER BY group_key",
        p.cohort_id,
    )
    assert {(r["group_key"], r["status"]) for r in statuses} == {
        (f"escalation:{rid}:inactive", "sent"),
        (f"escalation:{rid2}:one_directional", "cancelled"),
    }


async def test_ending_soon_and_closing_survey_and_closure_cancels_pending(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 5, 1, 9))
    p, _ = await formed_pair(svc, hr=f"{uid('hr.')}@bridge.example", mentee_locale="es")
    rid = uid("rel-")
    ids = dict(
        pair_id=p.pair_id,
        cohort_id=p.cohort_id,
        mentor_id=p.mentor.participant_id,
        mentee_id=p.mentee.participant_id,
    )
    ending = s.RelationshipEndingSoonV1(
        relationship_id=rid, end_date=at(2025, 5, 15).date(), days_left=14, **ids
    )
    await processed(svc, await publish(svc, ending))
    sched = session_scheduled(p, at(2025, 5, 20, 10), relationship_id=rid, location="Room 4")
    await processed(svc, await publish(svc, sched))
    risk = s.PairAtRiskV1(
        relationship_id=rid, reason="cadence_slipping", detected_at=at(2025, 5, 1), detail="x", **ids
    )
    await processed(svc, await publish(svc, risk))
    closed = s.PairClosedV1(
        relationship_id=rid, outcome="completed", closed_at=at(2025, 5, 2), sessions_held=6, **ids
    )
    await processed(svc, await publish(svc, closed))
    await dispatcher.drain()
    subjects = [x["Subject"] for x in sink.messages(str(p.mentee.email))]
    assert any("termina el" in x for x in subjects)
    assert any(x.startswith("Cuéntenos") for x in subjects)
    [survey] = [x for x in sink.messages(str(p.mentor.email)) if x["Subject"].startswith("Tell us")]
    assert f"/relationships/{rid}/closing-survey" in survey.get_body(("plain",)).get_content()
    pending = await rows(
        svc,
        "SELECT kind, status FROM deliveries WHERE group_key LIKE $1 OR group_key LIKE $2",
        f"reminder:{rid}:%",
        f"escalation:{rid}:%",
    )
    assert pending and all(r["status"] == "cancelled" for r in pending)


async def test_routing_table_is_served_and_covers_every_routed_event(svc: RunningService) -> None:
    table = (await svc.client.get("/routing", headers=auth("hr_admin"))).json()
    assert {r["event"] for r in table} >= set(routing.ROUTES)
    kinds = {r["kind"] for r in table if r["action"] == "notify"}
    assert kinds == {
        "match_proposed",
        "pair_formed",
        "session_scheduled",
        "session_rescheduled",
        "session_cancelled",
        "session_reminder",
        "at_risk_nudge",
        "one_directional_nudge",
        "at_risk_escalation",
        "ending_soon",
        "closing_survey",
        "daily_digest",
        "weekly_digest",
        "session_invite_updated",
        "agreement_to_confirm",
        "agreement_reminder",
        "pulse_request",
        "hr_match_declined",
        "hr_repeated_declines",
        "hr_match_expired",
        "hr_pair_closed_early",
        "midpoint_survey",
        "partner_left",
        "hr_participant_left",
        "hr_pair_flagged",
        # Mentoring circles (issue 15; test_circles_notifications.py).
        "circle_proposed",
        "circle_refilled",
        "circle_member_changed",
        "circle_formed",
        "circle_dissolved",
        "circle_agreement_to_confirm",
        "circle_agreement_reminder",
        "circle_session_scheduled",
        "circle_session_reminder",
        "circle_session_rescheduled",
        "circle_session_cancelled",
        "circle_activity_prompt",
        "circle_health_nudge",
        "circle_escalation",
        "circle_closed",
    }
    assert (await svc.client.get("/routing", headers=auth("participant"))).status_code == 403


_ = (HOUR, DAY)
