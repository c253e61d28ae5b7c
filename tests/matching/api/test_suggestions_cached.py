"""Suggestions through the API: the meeting preference in the score and the text, and the cohort's
index reused per version of its data (counted with the runtime's ``SuggestionCache.builds``, no
timing), never a stale one after a change."""

from __future__ import annotations

from typing import Any

import pytest

from bridge_matching.app.state import suggestion_cache
from bridge_matching.domain.engine import SuggestionCache
from tests.matching.api.support import cohort_body, person
from tests.service_harness import RunningService, auth

HR = auth("hr_admin", sub="hr-1")


def _as(emp: str) -> dict[str, str]:
    return auth("participant", sub=emp)


def _cache(svc: RunningService) -> SuggestionCache:
    return suggestion_cache(svc.runtime)


async def _suggest(svc: RunningService, cid: str, pid: str, emp: str) -> list[dict[str, Any]]:
    r = await svc.client.get(
        f"/cohorts/{cid}/participants/{pid}/suggestions", params={"k": 10}, headers=_as(emp)
    )
    assert r.status_code == 200, r.text
    body: list[dict[str, Any]] = r.json()
    return body


def _order(sugg: list[dict[str, Any]]) -> list[str]:
    return [s["employee_id"] for s in sugg]


async def test_meeting_preference_scores_and_suggestions_follow_every_change(svc: RunningService) -> None:
    c = svc.client
    cid = (await c.post("/cohorts", json=cohort_body(), headers=HR)).json()["id"]
    assert (
        await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)
    ).status_code == 200
    people = [
        person("QM1", "mentor", 2, meeting_preference="video"),
        person("QM2", "mentor", 2, meeting_preference="in_person"),
        person("QM3", "mentor", 2, meeting_preference="either"),
        person("QL1", "mentee", 9, meeting_preference="video"),
        person("QL2", "mentee", 9),
    ]
    for p in people:
        assert (await c.post(f"/cohorts/{cid}/participants", json=p, headers=HR)).status_code == 201
    ids = {
        p["employee_id"]: p["id"] for p in (await c.get(f"/cohorts/{cid}/participants", headers=HR)).json()
    }
    assert (
        await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "matching"}, headers=HR)
    ).status_code == 200
    policy = (await c.get(f"/cohorts/{cid}/policy", headers=HR)).json()
    assert policy["weights"]["meeting_preference"] == 1.0  # the default, shown with the other weights
    cache = _cache(svc)
    me = ids["QL1"]

    # Video suits QM1 (video) and QM3 (either) alike; QM2 would only meet in person: last, still there.
    first = await _suggest(svc, cid, me, "QL1")
    builds = cache.builds
    assert _order(first) == ["QM1", "QM3", "QM2"]
    meeting = {s["employee_id"]: s["breakdown"]["meeting_preference"] for s in first}
    assert meeting == {"QM1": 1.0, "QM3": 1.0, "QM2": 0.0}
    assert first[0]["score"] - first[2]["score"] == pytest.approx(1.0)
    # (Both first names are "Person": the text uses the full names.)
    assert (
        "different meeting preferences (Person QM2 in person / Person QL1 by video)"
        in first[2]["explanation"]
    )
    assert "both prefer to meet by video" in first[0]["explanation"]

    # The same data again (and another participant of the cohort): no index is built.
    assert await _suggest(svc, cid, me, "QL1") == first
    assert await _suggest(svc, cid, ids["QL2"], "QL2")
    assert cache.builds == builds

    # A profile changes: the next suggestion shows it (a new index for the new version).
    r = await c.patch(
        f"/cohorts/{cid}/participants/{ids['QM2']}", json={"meeting_preference": "video"}, headers=HR
    )
    assert r.status_code == 200, r.text
    after = await _suggest(svc, cid, me, "QL1")
    assert cache.builds == builds + 1
    assert _order(after) == ["QM1", "QM2", "QM3"] and after[1]["breakdown"]["meeting_preference"] == 1.0
    r = await c.patch(
        f"/cohorts/{cid}/participants/{ids['QM3']}",
        json={"skills_to_share": ["generative ai", "tiktok"]},
        headers=_as("QM3"),
    )
    assert r.status_code == 200, r.text
    assert _order(await _suggest(svc, cid, me, "QL1"))[0] == "QM3"
    assert cache.builds == builds + 2

    # The policy changes: the weights in the scores are the new ones.
    body = {**policy, "weights": {**policy["weights"], "meeting_preference": 0}}
    assert (await c.put(f"/cohorts/{cid}/policy", json=body, headers=HR)).status_code == 200, body
    no_meeting = await _suggest(svc, cid, me, "QL1")
    assert cache.builds == builds + 3
    assert {s["employee_id"]: s["score"] for s in no_meeting}["QM1"] == pytest.approx(first[0]["score"] - 1.0)

    # Someone becomes taken (a partner request is an open proposal): gone at once, without a rebuild.
    r = await c.post(
        f"/cohorts/{cid}/participants/{ids['QL2']}/requests",
        json={"partner_id": ids["QM1"]},
        headers=_as("QL2"),
    )
    assert r.status_code == 201, r.text
    taken = await _suggest(svc, cid, me, "QL1")
    assert "QM1" not in _order(taken) and cache.builds == builds + 3

    # Someone withdraws: gone.
    r = await c.post(
        f"/cohorts/{cid}/participants/{ids['QM3']}/withdraw", json={"reason": "left"}, headers=HR
    )
    assert r.status_code == 200, r.text
    assert _order(await _suggest(svc, cid, me, "QL1")) == ["QM2"]
    assert cache.builds == builds + 4


async def test_the_meeting_weight_is_validated_and_stored_like_the_others(svc: RunningService) -> None:
    c = svc.client
    cid = (await c.post("/cohorts", json=cohort_body(), headers=HR)).json()["id"]
    r = await c.put(f"/cohorts/{cid}/policy", json={"weights": {"meeting_preference": -1}}, headers=HR)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"weights.meeting_preference"}
    r = await c.put(f"/cohorts/{cid}/policy", json={"weights": {"meeting_preference": 101}}, headers=HR)
    assert r.status_code == 422
    r = await c.put(f"/cohorts/{cid}/policy", json={"weights": {"meeting_preference": 2.5}}, headers=HR)
    assert r.status_code == 200, r.text
    got = (await c.get(f"/cohorts/{cid}/policy", headers=HR)).json()
    assert got["weights"]["meeting_preference"] == 2.5 and got["weights"]["availability"] == 1.0

    from bridge_matching.domain.policy import PolicyIn, policy_event_document, to_engine_policy

    assert to_engine_policy(got).weights.meeting_preference == 2.5
    assert policy_event_document(PolicyIn.model_validate(got))["weights"]["meeting_preference"] == 2.5
    # A policy stored before the criterion existed reads with today's default.
    assert to_engine_policy({"weights": {"availability": 2}}).weights.meeting_preference == 1.0
