"""Issue 20, item 4: one goal can be read on its own, `GET /relationships/{id}/goals/{goal_id}`, by
whoever may read the relationship's goals (its two people, HR in scope, service); others get 404."""

from __future__ import annotations

import uuid

import pytest

from bridge_shared.scheduling.clock import FrozenClock
from tests.service_harness import RunningService, auth
from tests.sessions.conftest import START, form_pair

pytestmark = pytest.mark.integration


async def test_one_goal_is_read_with_its_check_ins(svc: RunningService, clock: FrozenClock) -> None:
    clock.set(START)
    pair = await form_pair(svc)
    r = await svc.client.post(f"{pair.base}/goals", headers=pair.as_mentee, json={"title": "Use AI weekly"})
    assert r.status_code == 201
    gid = r.json()["id"]
    r = await svc.client.post(
        f"{pair.base}/goals/{gid}/check-ins", headers=pair.as_mentee, json={"rating": 3}
    )
    assert r.status_code == 201
    path = f"{pair.base}/goals/{gid}"

    for headers in (pair.as_mentee, pair.as_mentor, auth("hr_admin"), auth("service")):
        got = await svc.client.get(path, headers=headers)
        assert got.status_code == 200, got.text
        assert got.json()["id"] == gid and [c["rating"] for c in got.json()["check_ins"]] == [3]
    listed = (await svc.client.get(f"{pair.base}/goals", headers=pair.as_mentee)).json()
    assert [g for g in listed if g["id"] == gid] == [
        (await svc.client.get(path, headers=pair.as_mentee)).json()
    ]

    # Out of scope: a participant not in the relationship, HR of another region: 404, as for the list.
    outsider = await svc.client.get(path, headers=auth("participant", sub="E-NOT-IN-IT"))
    assert outsider.status_code == 404
    assert (await svc.client.get(path, headers=auth("hr_regional", regions=("apac",)))).status_code == 404
    # No such goal, or a goal of another relationship named through this one.
    r = await svc.client.get(f"{pair.base}/goals/{uuid.uuid4()}", headers=pair.as_mentee)
    assert r.status_code == 404 and r.json()["title"] == "Goal not found"
    other = await form_pair(svc)
    r = await svc.client.get(f"{other.base}/goals/{gid}", headers=auth("hr_admin"))
    assert r.status_code == 404 and r.json()["title"] == "Goal not found"
