"""Issue 16, item 1: every lifecycle prompt goes out, once, through the routing table: the partner is
asked to confirm an agreement draft (and reminded once unless it is confirmed); both people are asked
for the pulse after a held session; HR hears of a decline, an expiry, an early close and a participant
declining repeatedly."""

from __future__ import annotations

import pytest

from bridge_notifications.app.dispatch import Dispatcher
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s
from bridge_shared.scheduling.clock import FrozenClock
from tests.notifications.support import Sink, at, explanation, form_pair, processed, publish, ref, rows, uid
from tests.service_harness import RunningService, auth

pytestmark = pytest.mark.integration


def _texts(sink: Sink, address: str) -> list[tuple[str, str]]:
    return [(x["Subject"], x.get_body(("plain",)).get_content()) for x in sink.messages(address)]


async def test_the_partner_confirms_a_draft_and_is_reminded_once_unless_it_is_confirmed(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 5, 5, 9))
    mentor, mentee = ref("Aiko Tanaka", tz="Asia/Tokyo"), ref("Lena Vogel", locale="de")
    p, _ = await form_pair(svc, mentor, mentee, formed_at=clock.now())
    await dispatcher.drain()
    rid = uid("rel-")
    fields = dict(relationship_id=rid, pair_id=p.pair_id, cohort_id=p.cohort_id, agreement_version=1)
    drafted = s.AgreementDraftedV1(**fields, by_participant_id=mentee.participant_id)  # type: ignore[arg-type]
    await processed(svc, await publish(svc, drafted))
    await dispatcher.drain()
    [(subject, body)] = [t for t in _texts(sink, str(mentor.email)) if "agreement" in t[0]]
    assert subject == "Lena Vogel drafted your mentoring agreement: please confirm"
    assert f"https://bridge.test/relationships/{rid}/agreement" in body
    assert not [t for t in _texts(sink, str(mentee.email)) if "Vereinbarung" in t[0]], "not the drafter"
    inbox = (
        await svc.client.get("/me/notifications", headers=auth("participant", sub=mentor.employee_id))
    ).json()
    [item] = [i for i in inbox if i["kind"] == "agreement_to_confirm"]  # beside pair_formed, same instant
    assert item["link"].endswith(f"/{rid}/agreement")

    # Three days on, still unconfirmed: one reminder, to the partner only.
    clock.set(at(2025, 5, 8, 9, 1))
    await dispatcher.drain()
    reminders = [
        t for t in _texts(sink, str(mentor.email)) if t[0].startswith("Reminder: your mentoring agreement")
    ]
    assert len(reminders) == 1
    clock.set(at(2025, 5, 12, 9))
    await dispatcher.drain()
    assert len([t for t in _texts(sink, str(mentor.email)) if t[0].startswith("Reminder")]) == 1

    # A second draft that is confirmed in time: its reminder is withdrawn, never sent.
    rid2 = uid("rel-")
    second = s.AgreementDraftedV1(  # type: ignore[arg-type]
        **{**fields, "relationship_id": rid2}, by_participant_id=mentor.participant_id
    )
    await processed(svc, await publish(svc, second))
    confirmed = s.AgreementConfirmedV1(
        relationship_id=rid2,
        pair_id=p.pair_id,
        cohort_id=p.cohort_id,
        agreement_version=1,
        by_participant_id=mentee.participant_id,
        cadence_days=14,
        start_date=at(2025, 5, 12).date(),
        end_date=at(2025, 11, 12).date(),
    )
    await processed(svc, await publish(svc, confirmed))
    pending = await rows(
        svc,
        "SELECT status FROM deliveries WHERE group_key = $1 AND kind = 'agreement_reminder'",
        f"agreement:{rid2}",
    )
    assert pending and {r["status"] for r in pending} == {"cancelled"}


async def test_a_held_session_asks_both_for_the_pulse(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 5, 20, 15))
    mentor, mentee = ref("Aiko Tanaka", tz="Asia/Tokyo"), ref("Lena Vogel", locale="fr")
    p, _ = await form_pair(svc, mentor, mentee, formed_at=at(2025, 5, 1))
    rid, sid = uid("rel-"), uid("sess-")
    held = s.SessionHeldV1(
        relationship_id=rid,
        pair_id=p.pair_id,
        cohort_id=p.cohort_id,
        session_id=sid,
        mentor_id=mentor.participant_id,
        mentee_id=mentee.participant_id,
        held_at=at(2025, 5, 20, 13),
        actual_duration_minutes=50,
        topics=[s.TopicCovered(topic="prompts", direction="mentor_to_mentee")],
        action_items=0,
    )
    eid = await publish(svc, held)
    await processed(svc, eid)
    await dispatcher.drain()
    pulse_url = f"https://bridge.test/relationships/{rid}/sessions/{sid}/pulse"
    [(subject, body)] = [
        t for t in _texts(sink, str(mentor.email)) if t[0].startswith("How was your session")
    ]
    assert "Lena Vogel" in subject and pulse_url in body
    assert any(pulse_url in b for _, b in _texts(sink, str(mentee.email)))
    # Once, however often the event arrives.
    await processed(svc, await publish(svc, held, event_id=eid))
    await dispatcher.drain()
    assert len([t for t in _texts(sink, str(mentor.email)) if t[0].startswith("How was your session")]) == 1


async def test_hr_hears_of_declines_expiries_early_closes_and_repeated_declines(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 6, 2, 10))
    hr = f"{uid('hr.')}@bridge.example"
    picky = ref("Lena Vogel")
    cohort = uid("c-")
    decline_events = []
    for i in range(4):
        mentor = ref(f"Mentor{i} Example")
        proposal = uid("prop-")
        proposed = m.MatchProposedV1(
            proposal_id=proposal,
            cohort_id=cohort,
            mentor=mentor,
            mentee=picky,
            explanation=explanation(),
            expires_at=at(2025, 6, 9),
        )
        await processed(svc, await publish(svc, proposed))
        if i == 0:  # make the cohort's HR contact known
            await form_pair(svc, mentor, ref("Someone Else"), cohort_id=cohort, hr=hr)
        declined = m.MatchDeclinedV1(
            proposal_id=proposal, cohort_id=cohort, participant_id=picky.participant_id, reason="not now"
        )
        decline_events.append(await publish(svc, declined))
        await processed(svc, decline_events[-1])
    await dispatcher.drain()
    mails = _texts(sink, hr)
    declined_mails = [t for t in mails if t[0].startswith("Proposal declined")]
    assert len(declined_mails) == 4 and all("Lena Vogel declined" in b for _, b in declined_mails)
    repeated = [t for t in mails if "has declined" in t[0]]
    assert [t[0] for t in repeated] == ["Lena Vogel has declined 3 proposals"], "once, at the threshold"

    p, _ = await form_pair(svc, ref("Aiko Tanaka"), ref("Noor Haddad"), cohort_id=cohort, hr=hr)
    expired = m.MatchExpiredV1(
        proposal_id=uid("prop-"),
        cohort_id=cohort,
        mentor_id=p.mentor.participant_id,
        mentee_id=p.mentee.participant_id,
        expired_at=at(2025, 6, 2, 9),
    )
    await processed(svc, await publish(svc, expired))
    closed = dict(
        pair_id=p.pair_id,
        cohort_id=cohort,
        closed_at=at(2025, 6, 2, 9),
        sessions_held=1,
        mentor_id=p.mentor.participant_id,
        mentee_id=p.mentee.participant_id,
    )
    completed = await publish(svc, s.PairClosedV1(relationship_id=uid("rel-"), outcome="completed", **closed))  # type: ignore[arg-type]
    early = await publish(
        svc,
        s.PairClosedV1(relationship_id=uid("rel-"), outcome="ended_early", reason="moved abroad", **closed),  # type: ignore[arg-type]
    )
    await processed(svc, completed)
    await processed(svc, early)
    await dispatcher.drain()
    mails = _texts(sink, hr)
    assert len([t for t in mails if t[0].startswith("Proposal expired: Aiko Tanaka and Noor Haddad")]) == 1
    [(_, body)] = [t for t in mails if t[0].startswith("Relationship ended early")]
    assert "after 1 session." in body and "moved abroad" in body
    hr_rows = await rows(
        svc, "SELECT kind FROM deliveries WHERE source_event_id LIKE $1 AND kind LIKE 'hr_%'", f"{completed}%"
    )
    assert hr_rows == [], "a completed relationship is not an alert"


async def test_the_mid_point_survey_invitation_goes_to_both_once(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 6, 2, 0, 5))
    mentor, mentee = ref("Aiko Tanaka", tz="Asia/Tokyo", locale="ja"), ref("Lena Vogel", locale="es")
    p, _ = await form_pair(svc, mentor, mentee, formed_at=at(2025, 3, 3))
    rid = uid("rel-")
    opened = s.SurveyOpenedV1(
        relationship_id=rid,
        pair_id=p.pair_id,
        cohort_id=p.cohort_id,
        mentor_id=mentor.participant_id,
        mentee_id=mentee.participant_id,
        kind="midpoint",
        opened_at=clock.now(),
        due=at(2025, 6, 16).date(),
        survey_path=f"/relationships/{rid}/surveys/midpoint",
    )
    eid = await publish(svc, opened)
    await processed(svc, eid)
    await processed(svc, await publish(svc, opened, event_id=eid))
    await dispatcher.drain()
    link = f"https://bridge.test/relationships/{rid}/surveys/midpoint"
    ja = [t for t in _texts(sink, str(mentor.email)) if link in t[1]]
    es = [t for t in _texts(sink, str(mentee.email)) if link in t[1]]
    assert len(ja) == 1 and ja[0][0].startswith("折り返し地点") and "2025年6月16日" in ja[0][1]
    assert len(es) == 1 and es[0][0].startswith("A mitad de camino") and "16 de junio de 2025" in es[0][1]
