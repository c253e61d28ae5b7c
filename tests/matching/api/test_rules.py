"""Phase rules, profile validation, self-service limits and access per role."""

from __future__ import annotations

from typing import Any

from tests.matching.api.support import cohort_body, person
from tests.service_harness import RunningService, auth

HR = auth("hr_admin", sub="hr-1")
EMEA_HR = auth("hr_regional", sub="hr-emea", regions=("EMEA",))
APAC_HR = auth("hr_regional", sub="hr-apac", regions=("APAC",))
SERVICE = auth("service", sub="reporting")


async def _cohort(svc: RunningService, **over: Any) -> str:
    r = await svc.client.post("/cohorts", json=cohort_body(**over), headers=HR)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_phase_machine_only_allows_single_forward_steps(svc: RunningService) -> None:
    c = svc.client
    cid = await _cohort(svc)
    path = ["enrolling", "matching", "active", "closing", "closed"]
    for illegal, legal in [
        ("active", "enrolling"),
        ("closing", "matching"),
        ("draft", "active"),
        ("enrolling", "closing"),
        ("active", "closed"),
    ]:
        r = await c.post(f"/cohorts/{cid}/phase", json={"to_phase": illegal}, headers=HR)
        assert r.status_code == 409, (illegal, r.text)
        assert r.json()["title"] == "Illegal phase transition" and r.json()["allowed"] == [legal]
        assert (
            await c.post(f"/cohorts/{cid}/phase", json={"to_phase": legal}, headers=HR)
        ).status_code == 200
    assert (await c.get(f"/cohorts/{cid}", headers=HR)).json()["phase"] == path[-1]
    r = await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "draft"}, headers=HR)
    assert r.status_code == 409 and r.json()["allowed"] == []
    r = await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "archived"}, headers=HR)
    assert r.status_code == 422
    # A closed cohort takes no policy changes or enrolments.
    assert (await c.put(f"/cohorts/{cid}/policy", json={}, headers=HR)).status_code == 409
    r = await c.post(f"/cohorts/{cid}/participants", json=person("P1", "mentor", 2), headers=HR)
    assert r.status_code == 409


async def test_policy_is_validated_and_mapped(svc: RunningService) -> None:
    c = svc.client
    cid = await _cohort(svc)
    r = await c.put(
        f"/cohorts/{cid}/policy",
        headers=HR,
        json={"weights": {"availability": -1}, "region_mode": "nowhere", "max_mentees_per_mentor": 0},
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"weights.availability", "region_mode", "max_mentees_per_mentor"}
    r = await c.put(
        f"/cohorts/{cid}/policy",
        headers=HR,
        json={
            "weights": {"skills_mentor_to_mentee": 5, "cross_department": 0},
            "region_mode": "same_region",
            "min_overlap_hours": 2,
            "max_mentees_per_mentor": 2,
            "management_exclusion_depth": 1,
            "allow_repeat_partners": True,
        },
    )
    assert r.status_code == 200, r.text
    got = (await c.get(f"/cohorts/{cid}/policy", headers=HR)).json()
    assert got["region_mode"] == "same_region" and got["weights"]["skills_mentor_to_mentee"] == 5
    from bridge_matching.domain.policy import to_engine_policy

    engine = to_engine_policy(got)
    assert engine.region_mode == "same_region" and engine.weights.cross_department == 0
    assert engine.max_mentees_per_mentor == 2 and engine.allow_repeat_partners


async def test_invalid_profiles_give_field_errors(svc: RunningService) -> None:
    c = svc.client
    cid = await _cohort(svc)
    await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)
    bad = person(
        "P1",
        "boss",
        99,
        email="nope",
        timezone="Nowhere/Town",
        availability=[{"weekday": 7, "start": "10:00", "end": "09:00"}],
    )
    r = await c.post(f"/cohorts/{cid}/participants", json=bad, headers=HR)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"role", "seniority_level", "email", "timezone", "availability.0.weekday"} <= fields
    r = await c.post(
        f"/cohorts/{cid}/participants", json=person("P1", "mentor", 2, region="APAC"), headers=HR
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "region"

    # Self-service: a participant edits their own profile; HR-managed fields and bad values are refused.
    r = await c.post(f"/cohorts/{cid}/participants", json=person("P1", "mentor", 2), headers=HR)
    assert r.status_code == 201
    pid = r.json()["id"]
    me = auth("participant", sub="P1")
    r = await c.patch(
        f"/cohorts/{cid}/participants/{pid}",
        headers=me,
        json={"skills_to_share": ["Python", "generative ai"], "capacity": 2},
    )
    assert r.status_code == 200, r.text
    assert r.json()["skills_to_share"] == ["generative ai", "Python"]  # as written (issue 12)
    tags = {t["name"]: t["kind"] for t in r.json()["skill_tags"] if t["direction"] == "share"}
    assert tags == {"generative ai": "taxonomy", "Python": "free"}
    r = await c.patch(f"/cohorts/{cid}/participants/{pid}", headers=me, json={"seniority_level": 12})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "seniority_level"
    r = await c.patch(
        f"/cohorts/{cid}/participants/{pid}", headers=me, json={"timezone": "Not/AZone", "capacity": 0}
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"timezone", "capacity"}
    assert (await c.get(f"/cohorts/{cid}/participants/{pid}", headers=me)).json()["capacity"] == 2
    # Someone else cannot read or edit it.
    other = auth("participant", sub="P2")
    assert (await c.get(f"/cohorts/{cid}/participants/{pid}", headers=other)).status_code == 404
    assert (
        await c.patch(f"/cohorts/{cid}/participants/{pid}", json={"capacity": 1}, headers=other)
    ).status_code == 404


async def test_access_per_role(svc: RunningService) -> None:
    c = svc.client
    emea = await _cohort(svc, regions=["EMEA"])
    apac = await _cohort(svc, regions=["APAC"])
    # hr_regional sees only cohorts touching their regions; others are 404, not 403.
    listed = {x["id"] for x in (await c.get("/cohorts", headers=EMEA_HR)).json()}
    assert emea in listed and apac not in listed
    assert (await c.get(f"/cohorts/{apac}", headers=EMEA_HR)).status_code == 404
    assert (await c.get(f"/cohorts/{apac}/participants", headers=EMEA_HR)).status_code == 404
    assert (
        await c.post(f"/cohorts/{apac}/phase", json={"to_phase": "enrolling"}, headers=EMEA_HR)
    ).status_code == 404
    assert (
        await c.post(f"/cohorts/{emea}/phase", json={"to_phase": "enrolling"}, headers=EMEA_HR)
    ).status_code == 200
    assert (await c.post("/cohorts", json=cohort_body(regions=["APAC"]), headers=EMEA_HR)).status_code == 403
    r = await c.post(
        f"/cohorts/{emea}/imports", content=b"employee_id\n", headers={**APAC_HR, "Content-Type": "text/csv"}
    )
    assert r.status_code == 404
    # service: read, never write.
    assert (await c.get(f"/cohorts/{apac}", headers=SERVICE)).status_code == 200
    assert (await c.get(f"/cohorts/{apac}/participants", headers=SERVICE)).status_code == 200
    assert (await c.post("/cohorts", json=cohort_body(), headers=SERVICE)).status_code == 403
    assert (
        await c.post(f"/cohorts/{apac}/phase", json={"to_phase": "enrolling"}, headers=SERVICE)
    ).status_code == 403
    # participants: no HR endpoints at all.
    p = auth("participant", sub="E1")
    assert (await c.get("/cohorts", headers=p)).status_code == 403
    assert (await c.get(f"/cohorts/{emea}", headers=p)).status_code == 403
    assert (await c.get(f"/cohorts/{emea}/proposals", headers=p)).status_code == 403
    assert (await c.get(f"/cohorts/{emea}/audit", headers=p)).status_code == 403
    # no token: 401 problem.
    r = await c.get("/cohorts")
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")


async def test_bad_csv_file_fails_cleanly(svc: RunningService) -> None:
    from tests.matching.api.support import wait_import

    c = svc.client
    cid = await _cohort(svc)
    await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)
    r = await c.post(
        f"/cohorts/{cid}/imports",
        content=b"name,email\nA,a@b.c\n",
        headers={**HR, "Content-Type": "text/csv"},
    )
    assert r.status_code == 202 and r.headers["location"].startswith("/imports/")
    job = await wait_import(c, r.json()["id"], HR)
    assert job["status"] == "failed" and "missing required column" in job["error"]
    r = await c.post(
        f"/cohorts/{cid}/imports", content=b"\xff\xfe", headers={**HR, "Content-Type": "text/csv"}
    )
    assert r.status_code == 415
