"""Issue 16, item 2: when sessions closes a relationship (completed, or ended early), matching ends the
pair, so its two people are free again; a pair HR dissolved first stays dissolved. A withdrawal closes
the person's open proposals with their own event (match.cancelled), not as a decline."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from bridge_shared.contracts.sessions import PairClosedV1
from bridge_shared.events.envelope import build_event
from bridge_shared.messaging.sources import owner_source
from tests.matching.api.support import cohort_body, count, person, read_events
from tests.service_harness import RunningService, auth, publish_event

HR = auth("hr_admin", sub="hr-pair-released")


async def _closed(svc: RunningService, pair: dict[str, Any], relationship_id: str, outcome: str) -> None:
    payload = PairClosedV1(
        relationship_id=relationship_id,
        pair_id=pair["id"],
        cohort_id=pair["cohort_id"],
        outcome=outcome,  # type: ignore[arg-type]
        closed_at=datetime(2025, 9, 1, 12, tzinfo=UTC),
        sessions_held=7,
        mentor_id=pair["mentor_id"],
        mentee_id=pair["mentee_id"],
    )
    await publish_event(svc, build_event(payload, source=owner_source(payload.topic)))


async def _status(svc: RunningService, pair: dict[str, Any], want: str) -> dict[str, Any]:
    path = f"/cohorts/{pair['cohort_id']}/pairs/{pair['id']}"
    async with asyncio.timeout(30):
        while True:
            body: dict[str, Any] = (await svc.client.get(path, headers=HR)).json()
            if body["status"] == want:
                return body
            await asyncio.sleep(0.1)


async def test_a_closed_relationship_frees_the_pair_in_matching(svc: RunningService) -> None:
    c = svc.client
    cid = (await c.post("/cohorts", json=cohort_body(), headers=HR)).json()["id"]
    assert (await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)).is_success
    tag = uuid.uuid4().hex[:6].upper()
    people = [
        person(f"RM{tag}", "mentor", 2),
        person(f"RL{tag}", "mentee", 9),
        person(f"RK{tag}", "mentee", 8),
    ]
    people += [person(f"RN{tag}", "mentor", 2), person(f"RO{tag}", "mentee", 9)]
    for p in people:
        assert (await c.post(f"/cohorts/{cid}/participants", json=p, headers=HR)).status_code == 201
    ids = {
        p["employee_id"]: p["id"] for p in (await c.get(f"/cohorts/{cid}/participants", headers=HR)).json()
    }
    assert (await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "matching"}, headers=HR)).is_success

    async def override(mentor: str, mentee: str) -> Any:
        body = {"mentor_id": ids[mentor + tag], "mentee_id": ids[mentee + tag], "reason": "release test"}
        return await c.post(f"/cohorts/{cid}/pairs", json=body, headers=HR)

    first = (await override("RM", "RL")).json()
    # The mentor's one place is taken while the pair is formed.
    busy = await override("RM", "RK")
    assert busy.status_code == 409 and busy.json()["title"] == "Participant not free"
    dissolved = (await override("RN", "RO")).json()
    r = await c.post(f"/cohorts/{cid}/pairs/{dissolved['id']}/dissolve", json={"reason": "moved"}, headers=HR)
    assert r.status_code == 200

    # Same relationship key for both events, so they arrive in this order: once the second has been
    # applied, the first (about the pair HR dissolved) has been handled too.
    rel = str(uuid.uuid4())
    await _closed(svc, dissolved, rel, "ended_early")
    await _closed(svc, first, rel, "completed")
    ended = await _status(svc, first, "ended")
    assert ended["ended_outcome"] == "completed" and ended["ended_at"] == "2025-09-01T12:00:00Z"
    still = (await c.get(f"/cohorts/{cid}/pairs/{dissolved['id']}", headers=HR)).json()
    assert still["status"] == "dissolved" and still["ended_at"] is None

    # Both people are free again: the mentor can be paired with someone else, HR sees why in the audit.
    again = await override("RM", "RK")
    assert again.status_code == 201, again.text
    listed = {
        p["id"]: p["status"] for p in (await c.get(f"/cohorts/{cid}/pairs?status=all", headers=HR)).json()
    }
    assert listed[first["id"]] == "ended" and listed[again.json()["id"]] == "formed"
    audit = (await c.get(f"/cohorts/{cid}/audit", headers=HR)).json()
    ends = [a for a in audit if a["action"] == "pair.end"]
    assert len(ends) == 1 and ends[0]["actor"] == "sessions" and "completed" in ends[0]["reason"]


async def test_a_withdrawal_cancels_open_proposals_with_its_own_event(
    svc: RunningService, bootstrap_servers: str, admin_dsn: str
) -> None:
    c = svc.client
    cid = (await c.post("/cohorts", json=cohort_body(), headers=HR)).json()["id"]
    assert (await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)).is_success
    tag = uuid.uuid4().hex[:6].upper()
    for p in (person(f"WM{tag}", "mentor", 2), person(f"WL{tag}", "mentee", 9)):
        assert (await c.post(f"/cohorts/{cid}/participants", json=p, headers=HR)).status_code == 201
    ids = {
        p["employee_id"]: p["id"] for p in (await c.get(f"/cohorts/{cid}/participants", headers=HR)).json()
    }
    assert (await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "matching"}, headers=HR)).is_success
    leader, mentor = ids[f"WL{tag}"], ids[f"WM{tag}"]
    r = await c.post(
        f"/cohorts/{cid}/participants/{leader}/requests",
        json={"partner_id": mentor},
        headers=auth("participant", sub=f"WL{tag}"),
    )
    assert r.status_code == 201, r.text
    proposal = r.json()
    r = await c.post(
        f"/cohorts/{cid}/participants/{mentor}/withdraw",
        json={"reason": "leaving the company"},
        headers=auth("participant", sub=f"WM{tag}"),
    )
    assert r.status_code == 200
    events = await read_events(bootstrap_servers, cid, {"match.cancelled": 1, "participant.withdrawn": 1})
    [cancelled] = [p for t, p in events if t.endswith(".match.cancelled.v1")]
    assert cancelled["proposal_id"] == proposal["id"] and cancelled["cause"] == "withdrawn"
    assert cancelled["left_participant_id"] == mentor and cancelled["mentee_id"] == leader
    assert "leaving" not in str(cancelled), "the withdrawal's reason stays with participant.withdrawn"
    # Same proposal key: had a decline been written it would come first, in the same transaction.
    assert count(events, "match.declined") == 0
    mine = (await c.get(f"/cohorts/{cid}/participants/{leader}/proposals", headers=HR)).json()
    assert [p["status"] for p in mine] == ["cancelled"]
