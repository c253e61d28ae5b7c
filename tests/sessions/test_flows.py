"""Agreement, session, goal, feedback and closure flows through the API, with the events read
back from the real topic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from bridge_shared.contracts.matching import PairDissolvedV1
from bridge_shared.scheduling.clock import FrozenClock
from tests.service_harness import RunningService, auth
from tests.sessions.conftest import AGREEMENT, START, Bus, form_pair, hold_session, publish

pytestmark = pytest.mark.integration


async def test_relationship_created_once_from_repeated_pair_formed(svc: RunningService, bus: Bus) -> None:
    pair = await form_pair(svc, times=3)
    await bus.wait(pair.id, "sessions.relationship.started.v1")
    rels = (await svc.client.get("/relationships", headers=auth("hr_admin"))).json()
    assert [r["pair_id"] for r in rels].count(pair.rel["pair_id"]) == 1
    assert pair.rel["status"] == "forming" and pair.rel["mentor_timezone"] == "Europe/Berlin"
    assert bus.types(pair.id).count("sessions.relationship.started.v1") == 1


async def test_agreement_draft_confirm_amend_keeps_previous_in_force(
    svc: RunningService, bus: Bus, clock: FrozenClock
) -> None:
    clock.set(START)
    pair = await form_pair(svc)
    r = await svc.client.post(f"{pair.base}/agreement", json=AGREEMENT, headers=pair.as_mentee)
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert (
        v1["version"] == 1
        and v1["status"] == "draft"
        and v1["mentee_confirmed_at"]
        and not v1["mentor_confirmed_at"]
    )
    view = (await svc.client.get(f"{pair.base}/agreement", headers=pair.as_mentor)).json()
    assert view["active"] is None and view["pending"]["version"] == 1
    # the drafter confirming again changes nothing; the other side makes it active
    await svc.client.post(f"{pair.base}/agreement/versions/1/confirm", headers=pair.as_mentee)
    assert (await svc.client.get(pair.base, headers=pair.as_mentor)).json()["status"] == "forming"
    view = (await svc.client.post(f"{pair.base}/agreement/versions/1/confirm", headers=pair.as_mentor)).json()
    assert view["active"]["version"] == 1 and view["pending"] is None
    rel = (await svc.client.get(pair.base, headers=pair.as_mentor)).json()
    assert rel["status"] == "active" and rel["agreement_version"] == 1 and rel["planned_end"] == "2025-09-01"

    # amendment: v2 pending, v1 still in force until both confirm
    amended = {**AGREEMENT, "cadence_days": 21, "end_date": "2025-10-01"}
    r = await svc.client.post(f"{pair.base}/agreement", json=amended, headers=pair.as_mentor)
    assert r.status_code == 201 and r.json()["version"] == 2
    view = (await svc.client.get(f"{pair.base}/agreement", headers=pair.as_mentee)).json()
    assert view["active"]["version"] == 1 and view["active"]["cadence_days"] == 14
    assert view["pending"]["version"] == 2
    assert (
        await svc.client.post(f"{pair.base}/agreement/versions/1/confirm", headers=pair.as_mentee)
    ).status_code == 409
    view = (await svc.client.post(f"{pair.base}/agreement/versions/2/confirm", headers=pair.as_mentee)).json()
    assert view["active"]["version"] == 2 and view["active"]["cadence_days"] == 21
    assert [a["status"] for a in view["history"]] == ["superseded", "active"]

    drafted = await bus.wait(pair.id, "sessions.agreement.drafted.v1")
    confirmed = await bus.wait(pair.id, "sessions.agreement.confirmed.v1", 2)
    amended_evt = await bus.wait(pair.id, "sessions.agreement.amended.v1")
    assert drafted[0].agreement_version == 1 and drafted[0].by_participant_id == pair.mentee.participant_id
    assert [(c.agreement_version, c.cadence_days) for c in confirmed] == [(1, 14), (2, 21)]
    assert amended_evt[0].previous_version == 1 and amended_evt[0].agreement_version == 2

    bad = {**AGREEMENT, "end_date": "2025-01-01"}
    r = await svc.client.post(f"{pair.base}/agreement", json=bad, headers=pair.as_mentor)
    assert r.status_code == 422


async def test_agreement_end_date_must_be_after_today_for_both_people_when_drafted_and_confirmed(
    svc: RunningService, bus: Bus, clock: FrozenClock
) -> None:
    # 16:00 UTC on 3 March is already 4 March in Tokyo: an end on the 4th has passed for the mentee.
    clock.set(datetime(2025, 3, 3, 16, 0, tzinfo=UTC))
    pair = await form_pair(svc, mentor_tz="America/Los_Angeles", mentee_tz="Asia/Tokyo")
    ends_today = {**AGREEMENT, "end_date": "2025-03-04"}
    r = await svc.client.post(f"{pair.base}/agreement", json=ends_today, headers=pair.as_mentor)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["title"] == "End date in the past" and "2025-03-04" in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["end_date"]
    assert (await svc.client.get(f"{pair.base}/agreement", headers=pair.as_mentor)).json()["pending"] is None

    # A draft that was fine when written cannot be confirmed once its end has passed.
    r = await svc.client.post(
        f"{pair.base}/agreement", json={**AGREEMENT, "end_date": "2025-03-10"}, headers=pair.as_mentor
    )
    assert r.status_code == 201, r.text
    clock.set(datetime(2025, 3, 10, 12, 0, tzinfo=UTC))
    r = await svc.client.post(f"{pair.base}/agreement/versions/1/confirm", headers=pair.as_mentee)
    assert r.status_code == 409 and r.json()["title"] == "End date has passed", r.text
    rel = (await svc.client.get(pair.base, headers=pair.as_mentor)).json()
    assert rel["status"] == "forming", "the relationship was not started on a past end date"
    # Drafted again with a later end, it goes through.
    r = await svc.client.post(f"{pair.base}/agreement", json=AGREEMENT, headers=pair.as_mentor)
    assert r.status_code == 201 and r.json()["version"] == 1
    r = await svc.client.post(f"{pair.base}/agreement/versions/1/confirm", headers=pair.as_mentee)
    assert r.status_code == 200 and r.json()["active"]["end_date"] == AGREEMENT["end_date"]
    confirmed = await bus.wait(pair.id, "sessions.agreement.confirmed.v1")
    assert [c.end_date.isoformat() for c in confirmed] == [AGREEMENT["end_date"]]


async def test_past_start_is_refused_and_a_past_session_is_logged_without_an_invite(
    svc: RunningService, bus: Bus, clock: FrozenClock
) -> None:
    now = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
    clock.set(now)
    pair = await form_pair(svc)
    r = await svc.client.post(
        f"{pair.base}/sessions", headers=pair.as_mentor, json={"starts_at": "2025-03-12T11:00:00Z"}
    )
    assert r.status_code == 422 and r.json()["title"] == "Start time in the past", r.text
    assert [e["field"] for e in r.json()["errors"]] == ["starts_at"]
    ahead = await svc.client.post(
        f"{pair.base}/sessions", headers=pair.as_mentor, json={"starts_at": "2025-03-14T09:00:00Z"}
    )
    assert ahead.status_code == 201, ahead.text
    r = await svc.client.post(
        f"{pair.base}/sessions/{ahead.json()['id']}/reschedule",
        headers=pair.as_mentee,
        json={"local_start": "2025-03-12T09:00", "timezone": "Europe/London"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "starts_at", r.text

    held = {
        "local_start": "2025-03-11T17:30",
        "timezone": "Europe/Berlin",
        "actual_duration_minutes": 40,
        "location": "Canteen",
        "topics": [{"topic": "Reels", "direction": "mentor_to_mentee"}],
        "private_note": "ran over",
    }
    future = {**held, "local_start": "2025-03-13T17:30"}
    r = await svc.client.post(f"{pair.base}/sessions/log", headers=pair.as_mentee, json=future)
    assert r.status_code == 422 and r.json()["title"] == "Start time in the future", r.text
    r = await svc.client.post(f"{pair.base}/sessions/log", headers=pair.as_mentee, json=held)
    assert r.status_code == 201, r.text
    logged = r.json()
    assert logged["status"] == "held" and logged["logged"] is True and logged["invite"] is None
    assert logged["starts_at"] == "2025-03-11T16:30:00Z" and logged["held_at"] == "2025-03-11T16:30:00Z"
    assert logged["duration_minutes"] == 40 and logged["my_private_note"] == "ran over"
    r = await svc.client.get(f"{pair.base}/sessions/{logged['id']}/invite.ics", headers=pair.as_mentor)
    assert r.status_code == 404 and r.json()["title"] == "No calendar invite"
    r = await svc.client.post(
        f"{pair.base}/sessions/{logged['id']}/reschedule",
        headers=pair.as_mentee,
        json={"starts_at": "2025-03-20T09:00:00Z"},
    )
    assert r.status_code == 409, "a logged session is held: it cannot be moved"

    event = next(
        e for e in await bus.wait(pair.id, "sessions.session.held.v2") if e.session_id == logged["id"]
    )
    assert event.actual_duration_minutes == 40 and event.held_at == datetime(2025, 3, 11, 16, 30, tzinfo=UTC)
    # The scheduled event of the future session came first; none was written for the logged one
    # (it would have been in the same transaction, before session.held, on the same partition).
    scheduled = [e.session_id for e in bus.of(pair.id, "sessions.session.scheduled.v2")]
    assert scheduled == [ahead.json()["id"]]
    health = (await svc.client.get(f"{pair.base}/health", headers=pair.as_mentee)).json()
    assert health["sessions_held"] == 1


def _ics_event(text: str) -> icalendar.Event:
    cal = icalendar.Calendar.from_ical(text)
    events = cal.walk("VEVENT")
    assert len(events) == 1
    ev: icalendar.Event = events[0]
    ev.method = str(cal["METHOD"])  # type: ignore[attr-defined]
    return ev


async def test_session_schedule_reschedule_cancel_with_invites(
    svc: RunningService, bus: Bus, clock: FrozenClock
) -> None:
    clock.set(START)
    pair = await form_pair(svc, mentor_tz="America/Los_Angeles", mentee_tz="Asia/Tokyo")
    starts = datetime(2025, 3, 20, 16, 0, tzinfo=UTC)
    r = await svc.client.post(
        f"{pair.base}/sessions",
        headers=pair.as_mentor,
        json={"starts_at": starts.isoformat(), "duration_minutes": 45, "location": "Zoom"},
    )
    assert r.status_code == 201, r.text
    s = r.json()
    sid, uid = s["id"], s["invite"]["uid"]
    assert s["local"]["mentor"]["starts_at"].startswith("2025-03-20T09:00:00-07:00")
    assert s["local"]["mentee"]["starts_at"].startswith("2025-03-21T01:00:00+09:00")

    ics = await svc.client.get(f"{pair.base}/sessions/{sid}/invite.ics", headers=pair.as_mentee)
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    ev = _ics_event(ics.text)
    assert ev.method == "REQUEST" and str(ev["UID"]) == uid and int(ev["SEQUENCE"]) == 0  # type: ignore[attr-defined]
    assert ev["DTSTART"].dt == starts and ev["DTEND"].dt == starts + timedelta(minutes=45)
    assert {str(a) for a in ev["ATTENDEE"]} == {f"mailto:{pair.mentor.email}", f"mailto:{pair.mentee.email}"}

    later = starts + timedelta(days=2)
    r = await svc.client.post(
        f"{pair.base}/sessions/{sid}/reschedule",
        headers=pair.as_mentee,
        json={"starts_at": later.isoformat()},
    )
    assert r.status_code == 200 and r.json()["invite"]["sequence"] == 1
    ev = _ics_event(
        (await svc.client.get(f"{pair.base}/sessions/{sid}/invite.ics", headers=pair.as_mentor)).text
    )
    assert str(ev["UID"]) == uid and int(ev["SEQUENCE"]) == 1 and ev["DTSTART"].dt == later
    assert r.json()["duration_minutes"] == 45 and r.json()["location"] == "Zoom"

    r = await svc.client.post(
        f"{pair.base}/sessions/{sid}/cancel", headers=pair.as_mentee, json={"reason": "Board meeting moved"}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "cancelled" and body["cancelled_by"] == pair.mentee.employee_id
    assert body["cancel_reason"] == "Board meeting moved"
    ev = _ics_event(
        (await svc.client.get(f"{pair.base}/sessions/{sid}/invite.ics", headers=pair.as_mentor)).text
    )
    assert ev.method == "CANCEL" and str(ev["STATUS"]) == "CANCELLED"  # type: ignore[attr-defined]
    assert str(ev["UID"]) == uid and int(ev["SEQUENCE"]) == 2
    r = await svc.client.post(
        f"{pair.base}/sessions/{sid}/reschedule",
        headers=pair.as_mentee,
        json={"starts_at": later.isoformat()},
    )
    assert r.status_code == 409

    sched = (await bus.wait(pair.id, "sessions.session.scheduled.v2"))[0]
    resched = (await bus.wait(pair.id, "sessions.session.rescheduled.v2"))[0]
    cancelled = (await bus.wait(pair.id, "sessions.session.cancelled.v2"))[0]
    assert sched.invite.method == "REQUEST" and sched.invite.sequence == 0 and sched.invite.uid == uid
    assert "BEGIN:VCALENDAR" in sched.invite.ics and sched.mentee_timezone == "Asia/Tokyo"
    assert (
        resched.previous_starts_at == starts and resched.starts_at == later and resched.invite.sequence == 1
    )
    assert cancelled.invite.method == "CANCEL" and cancelled.invite.sequence == 2
    assert cancelled.reason == "Board meeting moved"
    assert cancelled.cancelled_by is None, "minimised: who cancelled stays in sessions"
    assert "STATUS:CANCELLED" in cancelled.invite.ics


async def test_held_session_notes_private_to_author_and_pulse(
    svc: RunningService, bus: Bus, clock: FrozenClock
) -> None:
    clock.set(datetime(2025, 3, 10, 12, tzinfo=UTC))
    pair = await form_pair(svc)
    starts = datetime(2025, 3, 12, 9, tzinfo=UTC)
    r = await svc.client.post(
        f"{pair.base}/sessions", headers=pair.as_mentor, json={"starts_at": starts.isoformat()}
    )
    sid = r.json()["id"]
    held = {
        "actual_duration_minutes": 50,
        "topics": [
            {"topic": "Prompting", "direction": "mentor_to_mentee"},
            {"topic": "Managing up", "direction": "mentee_to_mentor"},
        ],
        "shared_notes": "Try Copilot on the weekly report",
        "private_note": "I felt rushed",
        "action_items": [{"text": "Draft prompt library", "owner": "mentor", "due": "2025-03-26"}],
    }
    r = await svc.client.post(f"{pair.base}/sessions/{sid}/held", headers=pair.as_mentor, json=held)
    assert r.status_code == 409, "cannot be held before it starts"
    clock.set(starts + timedelta(hours=2))
    r = await svc.client.post(f"{pair.base}/sessions/{sid}/held", headers=pair.as_mentor, json=held)
    assert r.status_code == 200, r.text
    assert r.json()["my_private_note"] == "I felt rushed"
    await svc.client.put(
        f"{pair.base}/sessions/{sid}/private-note", headers=pair.as_mentee, json={"body": "mine"}
    )

    as_mentee = (await svc.client.get(f"{pair.base}/sessions/{sid}", headers=pair.as_mentee)).json()
    assert as_mentee["my_private_note"] == "mine" and as_mentee["shared_notes"] == held["shared_notes"]
    assert as_mentee["action_items"][0]["owner"] == "mentor"
    as_mentor = (await svc.client.get(f"{pair.base}/sessions", headers=pair.as_mentor)).json()[0]
    assert as_mentor["my_private_note"] == "I felt rushed"
    as_hr = (await svc.client.get(f"{pair.base}/sessions/{sid}", headers=auth("hr_admin"))).json()
    assert as_hr["my_private_note"] is None and as_hr["shared_notes"] is None and len(as_hr["topics"]) == 2

    event = (await bus.wait(pair.id, "sessions.session.held.v2"))[0]
    assert event.actual_duration_minutes == 50 and event.action_items == 1
    assert [(t.topic, t.direction) for t in event.topics] == [
        ("Prompting", "mentor_to_mentee"),
        ("Managing up", "mentee_to_mentor"),
    ]
    assert "felt rushed" not in str(event.model_dump())

    r = await svc.client.post(f"{pair.base}/sessions/{sid}/pulse", headers=pair.as_mentee, json={"rating": 4})
    assert r.status_code == 201
    assert (
        await svc.client.post(f"{pair.base}/sessions/{sid}/pulse", headers=pair.as_mentee, json={"rating": 5})
    ).status_code == 409
    pulse = (await bus.wait(pair.id, "sessions.feedback.submitted.v1"))[0]
    assert (
        pulse.kind == "pulse" and pulse.rating == 4 and pulse.by_side == "mentee" and pulse.session_id == sid
    )
    health = (await svc.client.get(f"{pair.base}/health", headers=pair.as_mentee)).json()
    assert health["balance_index"] == 1.0 and health["sessions_held"] == 1


async def test_goals_progress_and_end(svc: RunningService, bus: Bus, clock: FrozenClock) -> None:
    clock.set(START)
    pair = await form_pair(svc)
    r = await svc.client.post(
        f"{pair.base}/goals",
        headers=pair.as_mentee,
        json={"title": "Use AI weekly", "success_measure": "3 workflows automated"},
    )
    assert r.status_code == 201
    gid = r.json()["id"]
    assert r.json()["owner_side"] == "mentee"
    r2 = await svc.client.post(f"{pair.base}/goals", headers=pair.as_mentor, json={"title": "Exec presence"})
    for rating, days in ((2, 7), (4, 21)):
        clock.set(START + timedelta(days=days))
        r = await svc.client.post(
            f"{pair.base}/goals/{gid}/check-ins",
            headers=pair.as_mentee,
            json={"rating": rating, "note": f"week {days // 7}"},
        )
        assert r.status_code == 201
    assert (
        await svc.client.post(
            f"{pair.base}/goals/{gid}/check-ins", headers=pair.as_mentor, json={"rating": 5}
        )
    ).status_code == 403, "only the owner rates a goal"
    r = await svc.client.post(f"{pair.base}/goals/{gid}/achieve", headers=pair.as_mentee, json={})
    assert r.json()["status"] == "achieved" and r.json()["latest_rating"] == 4
    assert [c["rating"] for c in r.json()["check_ins"]] == [2, 4]
    assert (
        await svc.client.post(
            f"{pair.base}/goals/{gid}/check-ins", headers=pair.as_mentee, json={"rating": 5}
        )
    ).status_code == 409
    r = await svc.client.post(
        f"{pair.base}/goals/{r2.json()['id']}/abandon", headers=pair.as_mentor, json={"note": "role changed"}
    )
    assert r.json()["status"] == "abandoned"
    goals = (await svc.client.get(f"{pair.base}/goals", headers=auth("hr_admin"))).json()
    assert {g["status"] for g in goals} == {"achieved", "abandoned"}

    assert len(await bus.wait(pair.id, "sessions.goal.set.v2", 2)) == 2
    assert [e.rating for e in await bus.wait(pair.id, "sessions.goal.progressed.v1", 2)] == [2, 4]
    assert (await bus.wait(pair.id, "sessions.goal.achieved.v1"))[0].goal_id == gid
    assert (await bus.wait(pair.id, "sessions.goal.abandoned.v2"))[0].reason == "role changed"


async def test_surveys_and_early_closure(svc: RunningService, bus: Bus, clock: FrozenClock) -> None:
    clock.set(START)
    pair = await form_pair(svc)
    survey = {"satisfaction": 5, "recommend_score": 9, "learned": "AI tooling", "taught": "Board dynamics"}
    early = await svc.client.post(f"{pair.base}/surveys/midpoint", headers=pair.as_mentor, json=survey)
    assert early.status_code == 409, "not before the midpoint (of the start and planned end here)"
    assert "opens on 2025-06-16" in early.json()["detail"]
    await _agree(svc, pair)  # 2025-03-03 to 2025-09-01: the midpoint is 2025-06-02
    early = await svc.client.post(f"{pair.base}/surveys/midpoint", headers=pair.as_mentor, json=survey)
    assert early.status_code == 409 and early.json()["opens_on"] == "2025-06-02"
    clock.set(datetime(2025, 6, 2, 8, tzinfo=UTC))
    r = await svc.client.post(f"{pair.base}/surveys/midpoint", headers=pair.as_mentor, json=survey)
    assert r.status_code == 201 and r.json()["recommend_score"] == 9
    assert (
        await svc.client.post(f"{pair.base}/surveys/midpoint", headers=pair.as_mentor, json=survey)
    ).status_code == 409
    assert (
        await svc.client.post(f"{pair.base}/surveys/closing", headers=pair.as_mentor, json=survey)
    ).status_code == 409, "closing survey opens near the end"
    assert (
        await svc.client.post(
            f"{pair.base}/surveys/midpoint", headers=pair.as_mentee, json={**survey, "recommend_score": 11}
        )
    ).status_code == 422

    clock.set(datetime(2025, 6, 20, 12, tzinfo=UTC))
    future = (
        await svc.client.post(
            f"{pair.base}/sessions", headers=pair.as_mentor, json={"starts_at": "2025-07-01T09:00:00Z"}
        )
    ).json()
    r = await svc.client.post(
        f"{pair.base}/close", headers=pair.as_mentee, json={"reason": "Leaving the company"}
    )
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["outcome"] == "ended_early"
    assert (
        await svc.client.post(
            f"{pair.base}/sessions", headers=pair.as_mentor, json={"starts_at": "2025-07-02T09:00:00Z"}
        )
    ).status_code == 409
    r = await svc.client.post(f"{pair.base}/surveys/closing", headers=pair.as_mentee, json=survey)
    assert r.status_code == 201
    mine = (await svc.client.get(f"{pair.base}/feedback", headers=pair.as_mentee)).json()
    assert [f["kind"] for f in mine] == ["closing"]
    assert {
        f["kind"] for f in (await svc.client.get(f"{pair.base}/feedback", headers=auth("hr_admin"))).json()
    } == {"midpoint", "closing"}

    closed = (await bus.wait(pair.id, "sessions.pair.closed.v2"))[0]
    assert closed.outcome == "ended_early" and closed.reason == "Leaving the company"
    assert closed.closed_by is None and closed.mentor_id == pair.mentor.participant_id  # actor minimised
    assert closed.closing_survey_path == f"{pair.base}/surveys/closing" and closed.hr_contact_email
    cancelled = (await bus.wait(pair.id, "sessions.session.cancelled.v2"))[0]
    assert cancelled.session_id == future["id"] and cancelled.invite.method == "CANCEL"
    kinds = [e.kind for e in await bus.wait(pair.id, "sessions.feedback.submitted.v1", 2)]
    assert kinds == ["midpoint", "closing"]


async def test_pair_dissolved_closes_relationship(svc: RunningService, bus: Bus, clock: FrozenClock) -> None:
    clock.set(START)
    pair = await form_pair(svc)
    await publish(
        svc,
        PairDissolvedV1(
            pair_id=pair.rel["pair_id"],
            cohort_id=pair.rel["cohort_id"],
            reason="conflict of interest",
            dissolved_by="hr-42",
        ),
    )
    closed = (await bus.wait(pair.id, "sessions.pair.closed.v2"))[0]
    assert closed.outcome == "ended_early" and closed.reason == "conflict of interest"
    assert closed.closed_by is None  # minimised: the actor stays in sessions
    rel = (await svc.client.get(pair.base, headers=pair.as_mentor)).json()
    assert rel["status"] == "closed" and rel["close_reason"] == "conflict of interest"


async def _agree(svc: RunningService, pair: object) -> None:
    from tests.sessions.conftest import activate_agreement

    await activate_agreement(svc, pair)  # type: ignore[arg-type]


__all__ = ["hold_session"]
