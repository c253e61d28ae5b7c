"""Issue 16, item 2: a person's profile change in matching (participant.updated) reaches sessions: the
relationship shows the new zone and address, and every session still to come gets its invite
re-issued (same UID, higher SEQUENCE, new attendee) as session.invite_updated; past ones do not."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import pytest

from bridge_shared.contracts.matching import ParticipantRef, ParticipantUpdatedV1
from bridge_shared.scheduling.clock import FrozenClock
from tests.service_harness import RunningService
from tests.sessions.conftest import Bus, form_pair, hold_session, publish

pytestmark = pytest.mark.integration


def _updated(who: ParticipantRef, **changes: object) -> ParticipantUpdatedV1:
    return ParticipantUpdatedV1(
        participant_id=who.participant_id,
        cohort_id="cohort-profile",
        role="mentee",
        profile=who.model_copy(update=changes),
    )


async def test_a_profile_change_reaches_the_relationship_and_reissues_upcoming_invites(
    svc: RunningService, bus: Bus, clock: FrozenClock
) -> None:
    clock.set(datetime(2025, 3, 10, 12, tzinfo=UTC))
    pair = await form_pair(svc, mentor_tz="Europe/Berlin", mentee_tz="Europe/Berlin")
    await hold_session(svc, pair, datetime(2025, 3, 5, 9, tzinfo=UTC))  # in the past: left alone
    upcoming = []
    for day in (12, 19):
        r = await svc.client.post(
            f"{pair.base}/sessions",
            headers=pair.as_mentor,
            json={"starts_at": f"2025-03-{day}T16:00:00Z", "location": "Teams"},
        )
        assert r.status_code == 201, r.text
        upcoming.append(r.json())

    # A change of region only re-issues nothing; then the mentee moves to Los Angeles with a new address.
    await publish(svc, _updated(pair.mentee, region="amer"))
    moved = _updated(pair.mentee, timezone="America/Los_Angeles", email="lena.new@bridge.example")
    await publish(svc, moved)
    events = await bus.wait(pair.id, "sessions.session.invite_updated.v1", 2)
    assert sorted(e.session_id for e in events) == sorted(s["id"] for s in upcoming)
    for e in events:
        assert e.changed == ["attendee", "timezone"] and e.mentee_timezone == "America/Los_Angeles"
        assert e.invite.sequence == 1 and e.invite.method == "REQUEST"
        cal = icalendar.Calendar.from_ical(e.invite.ics)
        [ev] = cal.walk("VEVENT")
        before = next(s for s in upcoming if s["id"] == e.session_id)
        assert str(ev["UID"]) == before["invite"]["uid"] and int(ev["SEQUENCE"]) == 1
        assert ev["DTSTART"].dt == datetime.fromisoformat(before["starts_at"].replace("Z", "+00:00"))
        attendees = {str(a) for a in ev["ATTENDEE"]}
        assert (
            "mailto:lena.new@bridge.example" in attendees and f"mailto:{pair.mentee.email}" not in attendees
        )

    # The API shows the new zone and the raised sequence; the held session was not touched.
    sessions = (await svc.client.get(f"{pair.base}/sessions", headers=pair.as_mentee)).json()
    by_id = {s["id"]: s for s in sessions}
    for s in upcoming:
        shown = by_id[s["id"]]
        assert shown["invite"]["sequence"] == 1
        assert shown["local"]["mentee"]["starts_at"].endswith("T09:00:00-07:00")  # 16:00 UTC, PDT
        assert shown["local"]["mentee"]["timezone"] == "America/Los_Angeles"
    [held] = [s for s in sessions if s["status"] == "held"]
    assert held["logged"] is True
    ics = await svc.client.get(f"{pair.base}/sessions/{upcoming[0]['id']}/invite.ics", headers=pair.as_mentor)
    assert "lena.new@bridge.example" in ics.text

    # The same update again changes nothing more: no third invite, sequence stays 1 (the next
    # event on the same participant key, a name change, proves the repeat was handled first).
    await publish(svc, moved)
    await publish(
        svc,
        _updated(
            pair.mentee,
            timezone="America/Los_Angeles",
            email="lena.new@bridge.example",
            display_name="Lena Vogel-Ruiz",
        ),
    )
    events = await bus.wait(pair.id, "sessions.session.invite_updated.v1", 4)
    assert len(events) == 4 and [e.changed for e in events[2:]] == [["attendee"], ["attendee"]]
    assert {e.invite.sequence for e in events[2:]} == {2}
