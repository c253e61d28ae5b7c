"""Who may see and change a relationship, decided service-side: one test per role."""

from __future__ import annotations

import pytest

from bridge_shared.scheduling.clock import FrozenClock
from tests.service_harness import RunningService, auth
from tests.sessions.conftest import START, Pair, form_pair

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def pair(svc: RunningService, clock: FrozenClock) -> Pair:
    clock.set(START)
    p = await form_pair(svc, region="apac")
    r = await svc.client.post(
        f"{p.base}/sessions", headers=p.as_mentor, json={"starts_at": "2025-03-05T09:00:00Z"}
    )
    p.rel["session_id"] = r.json()["id"]
    await svc.client.put(
        f"{p.base}/sessions/{p.rel['session_id']}/private-note",
        headers=p.as_mentor,
        json={"body": "mentor's private thoughts"},
    )
    return p


def urls(p: Pair) -> list[str]:
    s = f"{p.base}/sessions/{p.rel['session_id']}"
    return [
        p.base,
        f"{p.base}/agreement",
        f"{p.base}/sessions",
        s,
        f"{s}/invite.ics",
        f"{p.base}/goals",
        f"{p.base}/feedback",
        f"{p.base}/health",
    ]


async def listed(svc: RunningService, headers: dict[str, str], p: Pair) -> bool:
    return p.id in {r["id"] for r in (await svc.client.get("/relationships", headers=headers)).json()}


async def test_participant_of_the_pair_sees_and_changes_it(svc: RunningService, pair: Pair) -> None:
    for url in urls(pair):
        assert (await svc.client.get(url, headers=pair.as_mentee)).status_code == 200, url
    assert await listed(svc, pair.as_mentee, pair)
    assert (await svc.client.get(pair.base, headers=pair.as_mentee)).json()["my_side"] == "mentee"
    r = await svc.client.post(f"{pair.base}/goals", headers=pair.as_mentee, json={"title": "Mine"})
    assert r.status_code == 201
    s = (
        await svc.client.get(f"{pair.base}/sessions/{pair.rel['session_id']}", headers=pair.as_mentee)
    ).json()
    assert s["my_private_note"] is None, "the partner's private note is not visible"
    s = (
        await svc.client.get(f"{pair.base}/sessions/{pair.rel['session_id']}", headers=pair.as_mentor)
    ).json()
    assert s["my_private_note"] == "mentor's private thoughts"


async def test_other_participant_sees_nothing_and_changes_nothing(svc: RunningService, pair: Pair) -> None:
    other = auth("participant", sub="E-SOMEONE-ELSE")
    for url in urls(pair):
        assert (await svc.client.get(url, headers=other)).status_code == 404, url
    assert not await listed(svc, other, pair)
    for url, body in (
        (f"{pair.base}/sessions", {"starts_at": "2025-03-05T09:00:00Z"}),
        (f"{pair.base}/goals", {"title": "x"}),
        (f"{pair.base}/close", {"reason": "x"}),
        (f"{pair.base}/sessions/{pair.rel['session_id']}/private-note", {"body": "x"}),
    ):
        r = await svc.client.request("PUT" if url.endswith("note") else "POST", url, headers=other, json=body)
        assert r.status_code == 404, url


async def test_hr_admin_sees_all_but_not_private_notes_and_cannot_act_as_participant(
    svc: RunningService, pair: Pair
) -> None:
    hr = auth("hr_admin", sub="hr-1")
    for url in urls(pair):
        assert (await svc.client.get(url, headers=hr)).status_code == 200, url
    assert await listed(svc, hr, pair)
    s = (await svc.client.get(f"{pair.base}/sessions/{pair.rel['session_id']}", headers=hr)).json()
    assert s["my_private_note"] is None and s["shared_notes"] is None
    r = await svc.client.post(f"{pair.base}/sessions", headers=hr, json={"starts_at": "2025-03-05T09:00:00Z"})
    assert r.status_code == 403
    assert (await svc.client.post(f"{pair.base}/goals", headers=hr, json={"title": "x"})).status_code == 403


async def test_hr_regional_in_the_pairs_region_sees_it(svc: RunningService, pair: Pair) -> None:
    hr = auth("hr_regional", sub="hr-apac", regions=("apac",))
    for url in urls(pair):
        assert (await svc.client.get(url, headers=hr)).status_code == 200, url
    assert await listed(svc, hr, pair)
    r = await svc.client.post(f"{pair.base}/agreement/versions/1/confirm", headers=hr)
    assert r.status_code == 403


async def test_hr_regional_of_another_region_sees_nothing(svc: RunningService, pair: Pair) -> None:
    hr = auth("hr_regional", sub="hr-emea", regions=("emea", "amer"))
    for url in urls(pair):
        assert (await svc.client.get(url, headers=hr)).status_code == 404, url
    assert not await listed(svc, hr, pair)
    assert (await svc.client.post(f"{pair.base}/close", headers=hr, json={"reason": "x"})).status_code == 404


async def test_no_token_is_refused(svc: RunningService, pair: Pair) -> None:
    for url in urls(pair):
        r = await svc.client.get(url)
        assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
