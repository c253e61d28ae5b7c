"""Issue 19: a pair dissolved because one of the two left the company (matching's pair.dissolved v2
with `left_participant_id`) closes the relationship as any dissolution does, remembers who left
(shown in the relationship API), and carries it on in pair.closed v2 with matching's reason."""

from __future__ import annotations

import pytest

from bridge_shared.contracts.matching import PairDissolvedV2
from bridge_shared.messaging.sources import owner_source
from bridge_shared.scheduling.clock import FrozenClock
from tests.service_harness import RunningService, auth, publish_event
from tests.sessions.conftest import START, Bus, form_pair
from tests.shared.events_for_tests import sealed_event

pytestmark = pytest.mark.integration


def _dissolved(rel: dict[str, str], left: str | None) -> PairDissolvedV2:
    return PairDissolvedV2(
        pair_id=rel["pair_id"],
        cohort_id=rel["cohort_id"],
        mentor_id=rel["mentor_id"],
        mentee_id=rel["mentee_id"],
        reason="left the company",
        dissolved_by="matching",
        left_participant_id=left,
    )


async def test_a_leavers_pair_closes_with_who_left(
    svc: RunningService, bus: Bus, clock: FrozenClock, admin_dsn: str
) -> None:
    clock.set(START)
    pair = await form_pair(svc)
    leaver = pair.mentee.participant_id
    r = await svc.client.post(
        f"{pair.base}/sessions", headers=pair.as_mentor, json={"starts_at": "2025-09-10T09:00:00Z"}
    )
    assert r.status_code == 201, r.text
    dissolved = _dissolved(pair.rel, leaver)
    await publish_event(
        svc, await sealed_event(dissolved, source=owner_source(dissolved.topic), dsn=admin_dsn)
    )

    closed = (await bus.wait(pair.id, "sessions.pair.closed.v2"))[0]
    assert closed.left_participant_id == leaver
    assert closed.outcome == "ended_early" and closed.reason == "left the company"
    # The session to come is cancelled naming the leaver too (notifications sends it to the partner only).
    [cancelled] = bus.of(pair.id, "sessions.session.cancelled.v2")
    assert cancelled.session_id == r.json()["id"] and cancelled.left_participant_id == leaver
    for who in (pair.as_mentor, auth("hr_admin")):
        rel = (await svc.client.get(pair.base, headers=who)).json()
        assert rel["status"] == "closed" and rel["outcome"] == "ended_early"
        assert rel["left_participant_id"] == leaver and rel["close_reason"] == "left the company"


async def test_an_ordinary_dissolution_names_no_leaver_and_a_stranger_is_not_taken_for_one(
    svc: RunningService, bus: Bus, clock: FrozenClock, admin_dsn: str
) -> None:
    clock.set(START)
    plain, odd = await form_pair(svc), await form_pair(svc)
    for pair, left in ((plain, None), (odd, "P-not-in-this-pair")):
        d = _dissolved(pair.rel, left)
        await publish_event(svc, await sealed_event(d, source=owner_source(d.topic), dsn=admin_dsn))
    for pair in (plain, odd):
        closed = (await bus.wait(pair.id, "sessions.pair.closed.v2"))[0]
        assert closed.left_participant_id is None and closed.outcome == "ended_early"
        rel = (await svc.client.get(pair.base, headers=pair.as_mentor)).json()
        assert rel["status"] == "closed" and rel["left_participant_id"] is None
