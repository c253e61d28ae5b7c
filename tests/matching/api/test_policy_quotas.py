"""Quotas in a cohort's policy, through the service: validated, stored, applied by a run, reported."""

from __future__ import annotations

from typing import Any

from tests.matching.api.support import cohort_body, person, wait_run
from tests.service_harness import RunningService, auth

HR = auth("hr_admin", sub="hr-1")


async def _cohort_with(svc: RunningService, people: list[dict[str, Any]], policy: dict[str, Any]) -> str:
    c = svc.client
    body = cohort_body(regions=["EMEA", "AMER"])
    body["policy"] = {**body["policy"], **policy}
    r = await c.post("/cohorts", json=body, headers=HR)
    assert r.status_code == 201, r.text
    cid: str = r.json()["id"]
    assert (
        await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)
    ).status_code == 200
    for p in people:
        r = await c.post(f"/cohorts/{cid}/participants", json=p, headers=HR)
        assert r.status_code == 201, r.text
    assert (
        await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "matching"}, headers=HR)
    ).status_code == 200
    return cid


def _people() -> list[dict[str, Any]]:
    # Four EMEA mentors and four mentees, two in EMEA and two in AMER: without quotas all four
    # would be paired.
    mentors = [person(f"M{i}", "mentor", 2, region="EMEA", dept=f"D{i}") for i in range(4)]
    mentees = [
        person(f"L{i}", "mentee", 9, region="EMEA" if i < 2 else "AMER", dept=f"X{i}") for i in range(4)
    ]
    return mentors + mentees


async def test_a_cross_region_quota_and_a_region_cap_shape_the_draft(svc: RunningService) -> None:
    c = svc.client
    cid = await _cohort_with(
        svc,
        _people(),
        {"min_cross_region_share": 0.6, "region_mentor_caps": [{"region": "EMEA", "max_mentees": 3}]},
    )
    policy = (await c.get(f"/cohorts/{cid}/policy", headers=HR)).json()
    assert policy["min_cross_region_share"] == 0.6 and policy["region_mentor_caps"] == [
        {"region": "EMEA", "max_mentees": 3}
    ]
    r = await c.post(f"/cohorts/{cid}/matching-runs", headers=HR)
    assert r.status_code == 202, r.text
    run = await wait_run(c, r.json()["id"], HR)
    assert run["status"] == "draft", run
    region = {p["employee_id"]: p["region"] for p in _people()}
    chosen = [(d["mentor_employee_id"], d["mentee_employee_id"]) for d in run["pairs"]]
    # The EMEA mentors take at most 3 mentees, and at least 60 % of the pairs cross regions
    # (3 pairs, 2 of them with the two AMER mentees).
    assert len(chosen) == 3, chosen
    assert sum(region[m] != region[e] for m, e in chosen) >= 0.6 * len(chosen)
    stats = run["stats"]
    assert stats["proven_optimal"] is True and stats["certified_gap"] == 0
    assert set(stats["quota_costs"]) == {"min_cross_region_share", "region_mentor_cap:EMEA"}
    assert all(cost >= 0 for cost in stats["quota_costs"].values())


async def test_quota_values_are_bounded(svc: RunningService) -> None:
    c = svc.client
    r = await c.post("/cohorts", json=cohort_body(), headers=HR)
    cid = r.json()["id"]
    for bad in (
        {"min_cross_region_share": 1.5},
        {"max_same_department_share": -0.1},
        {"region_mentor_caps": [{"region": "EMEA", "max_mentees": -1}]},
    ):
        r = await c.put(f"/cohorts/{cid}/policy", json=bad, headers=HR)
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_quotas_are_put_and_read_back(svc: RunningService) -> None:
    c = svc.client
    cid = (await c.post("/cohorts", json=cohort_body(), headers=HR)).json()["id"]
    quotas = {
        "min_cross_region_share": 0.25,
        "max_same_department_share": 0.5,
        "region_mentor_caps": [{"region": "EMEA", "max_mentees": 10}, {"region": "AMER", "max_mentees": 4}],
    }
    r = await c.put(f"/cohorts/{cid}/policy", json=quotas, headers=HR)
    assert r.status_code == 200, r.text  # the policy_updated event carries the caps as {region: n}
    policy = (await c.get(f"/cohorts/{cid}/policy", headers=HR)).json()
    assert {k: policy[k] for k in quotas} == quotas
    r = await c.put(
        f"/cohorts/{cid}/policy",
        json={
            "region_mentor_caps": [{"region": "EMEA", "max_mentees": 1}, {"region": "EMEA", "max_mentees": 2}]
        },
        headers=HR,
    )
    assert r.status_code == 422 and "one cap" in r.text
