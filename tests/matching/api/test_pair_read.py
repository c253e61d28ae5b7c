"""Issue 20, item 4: one pair can be read on its own, `GET /cohorts/{cohort_id}/pairs/{pair_id}`, with
the region-scoping rule (docs/access.md): a pair whose people are all out of the caller's regions, or
that is not in the named cohort, is 404; participants are refused (403) like on the list."""

from __future__ import annotations

import uuid

from tests.matching.api.support import cohort_body, person
from tests.service_harness import RunningService, auth

HR = auth("hr_admin", sub="hr-pair-read")


async def test_one_pair_is_read_with_the_scoping_rule(svc: RunningService) -> None:
    c = svc.client
    cid = (await c.post("/cohorts", json=cohort_body(), headers=HR)).json()["id"]
    assert (
        await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)
    ).status_code == 200
    tag = uuid.uuid4().hex[:6].upper()
    for p in (person(f"PRM{tag}", "mentor", 2), person(f"PRL{tag}", "mentee", 9)):  # both EMEA
        assert (await c.post(f"/cohorts/{cid}/participants", json=p, headers=HR)).status_code == 201
    ids = {
        p["employee_id"]: p["id"] for p in (await c.get(f"/cohorts/{cid}/participants", headers=HR)).json()
    }
    assert (
        await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "matching"}, headers=HR)
    ).status_code == 200
    r = await c.post(
        f"/cohorts/{cid}/pairs",
        json={"mentor_id": ids[f"PRM{tag}"], "mentee_id": ids[f"PRL{tag}"], "reason": "read one pair"},
        headers=HR,
    )
    assert r.status_code == 201, r.text
    pair = r.json()
    path = f"/cohorts/{cid}/pairs/{pair['id']}"

    r = await c.get(path, headers=HR)
    assert r.status_code == 200, r.text
    assert r.json() == pair
    listed = {p["id"]: p for p in (await c.get(f"/cohorts/{cid}/pairs", headers=HR)).json()}
    assert listed[pair["id"]] == r.json()  # the same representation as the list's

    # Regional HR: in the pair's region it is visible; HR of the cohort's other region sees the cohort
    # but not the pair (no one of it is in AMER): 404, as on the list, where it is left out.
    assert (
        await c.get(path, headers=auth("hr_regional", sub="hr-emea", regions=("EMEA",)))
    ).status_code == 200
    r = await c.get(path, headers=auth("hr_regional", sub="hr-amer", regions=("AMER",)))
    assert r.status_code == 404 and r.json()["title"] == "Pair not found"
    assert r.headers["content-type"] == "application/problem+json"
    # A region the cohort does not cover: the cohort itself is hidden.
    r = await c.get(path, headers=auth("hr_regional", sub="hr-apac", regions=("APAC",)))
    assert r.status_code == 404 and r.json()["title"] == "Cohort not found"
    # Participants (even one of the pair) read their pair through their proposals, not this HR read.
    assert (await c.get(path, headers=auth("participant", sub=f"PRM{tag}"))).status_code == 403
    assert (await c.get(path, headers=auth("service", sub="svc-reader"))).status_code == 200

    # Not in this cohort, or no such pair: 404.
    other = (await c.post("/cohorts", json=cohort_body(), headers=HR)).json()["id"]
    assert (await c.get(f"/cohorts/{other}/pairs/{pair['id']}", headers=HR)).status_code == 404
    r = await c.get(f"/cohorts/{cid}/pairs/{uuid.uuid4()}", headers=HR)
    assert r.status_code == 404 and r.json()["title"] == "Pair not found"
    assert (await c.get(f"/cohorts/{cid}/pairs/not-a-uuid", headers=HR)).status_code == 422

    # A dissolved pair is still readable, with its new status.
    r = await c.post(f"{path}/dissolve", json={"reason": "read it after"}, headers=HR)
    assert r.status_code == 200
    r = await c.get(path, headers=HR)
    assert r.status_code == 200 and r.json()["status"] == "dissolved"
