"""The one region-scoping rule (docs/access.md) in matching, on a mixed EMEA + APAC cohort."""

from __future__ import annotations

from typing import Any

from tests.matching.api.support import cohort_body, person
from tests.service_harness import RunningService, auth

HR = auth("hr_admin", sub="hr-1")
EMEA_HR = auth("hr_regional", sub="hr-emea", regions=("EMEA",))
APAC_HR = auth("hr_regional", sub="hr-apac", regions=("APAC",))
BOTH_HR = auth("hr_regional", sub="hr-both", regions=("EMEA", "APAC"))
AMER_HR = auth("hr_regional", sub="hr-amer", regions=("AMER",))
SERVICE = auth("service", sub="reporting")


async def _mixed_cohort(svc: RunningService) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A cohort in EMEA and APAC, with an EMEA mentor and an APAC mentee formed into a pair."""
    c = svc.client
    r = await c.post("/cohorts", json=cohort_body(regions=["EMEA", "APAC"]), headers=HR)
    assert r.status_code == 201, r.text
    cid = str(r.json()["id"])
    assert (
        await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)
    ).status_code == 200
    emea = await c.post(f"/cohorts/{cid}/participants", json=person("SE1", "mentor", 2), headers=HR)
    apac = await c.post(
        f"/cohorts/{cid}/participants", json=person("SA1", "mentee", 9, region="APAC"), headers=HR
    )
    assert emea.status_code == 201 and apac.status_code == 201, (emea.text, apac.text)
    assert (
        await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "matching"}, headers=HR)
    ).status_code == 200
    r = await c.post(
        f"/cohorts/{cid}/pairs",
        json={
            "mentor_id": emea.json()["id"],
            "mentee_id": apac.json()["id"],
            "reason": "set up for the test",
        },
        headers=HR,
    )
    assert r.status_code == 201, r.text
    return cid, emea.json(), apac.json()


async def test_regional_hr_sees_only_people_of_their_regions_in_a_mixed_cohort(svc: RunningService) -> None:
    c = svc.client
    cid, emea, apac = await _mixed_cohort(svc)
    # The measured case: EMEA HR read an APAC person's e-mail and PATCHed their profile.
    r = await c.get(f"/cohorts/{cid}/participants/{apac['id']}", headers=EMEA_HR)
    assert r.status_code == 404 and "sa1@corp.example" not in r.text
    r = await c.patch(
        f"/cohorts/{cid}/participants/{apac['id']}", json={"display_name": "X"}, headers=EMEA_HR
    )
    assert r.status_code == 404
    r = await c.post(f"/cohorts/{cid}/participants/{apac['id']}/withdraw", json={}, headers=EMEA_HR)
    assert r.status_code == 404
    assert (await c.get(f"/cohorts/{cid}/participants/{apac['id']}", headers=HR)).json()["display_name"] == (
        "Person SA1"
    )
    # Their own person: visible and editable.
    assert (await c.get(f"/cohorts/{cid}/participants/{emea['id']}", headers=EMEA_HR)).status_code == 200
    r = await c.patch(
        f"/cohorts/{cid}/participants/{emea['id']}", json={"display_name": "E"}, headers=EMEA_HR
    )
    assert r.status_code == 200, r.text
    # ... but not moved out of their scope.
    r = await c.patch(f"/cohorts/{cid}/participants/{emea['id']}", json={"region": "APAC"}, headers=EMEA_HR)
    assert r.status_code == 403
    # Lists: only in-scope people, filtered in SQL (pagination stays right).
    listed = (await c.get(f"/cohorts/{cid}/participants", headers=EMEA_HR)).json()
    assert [p["employee_id"] for p in listed] == ["SE1"]
    assert "sa1@corp.example" not in str(listed)
    listed = (await c.get(f"/cohorts/{cid}/participants?limit=1", headers=APAC_HR)).json()
    assert [p["employee_id"] for p in listed] == ["SA1"]
    assert len((await c.get(f"/cohorts/{cid}/participants", headers=SERVICE)).json()) == 2
    # The cross-region pair is visible to both regions' HR (ids only), to neither a third region.
    for hr in (EMEA_HR, APAC_HR):
        pairs = (await c.get(f"/cohorts/{cid}/pairs", headers=hr)).json()
        assert len(pairs) == 1 and "@" not in str(pairs)
    assert (await c.get(f"/cohorts/{cid}", headers=AMER_HR)).status_code == 404
    # Enrolling someone of another region is refused.
    r = await c.post(
        f"/cohorts/{cid}/participants", json=person("SA2", "mentee", 9, region="APAC"), headers=EMEA_HR
    )
    assert r.status_code == 403


async def test_cohort_wide_changes_need_every_region(svc: RunningService) -> None:
    c = svc.client
    cid, _, _ = await _mixed_cohort(svc)
    r = await c.put(f"/cohorts/{cid}/policy", json={}, headers=EMEA_HR)
    assert r.status_code == 403 and "APAC" in r.json()["detail"]
    assert r.json()["missing_regions"] == ["APAC"]
    r = await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "active"}, headers=EMEA_HR)
    assert r.status_code == 403
    r = await c.post(f"/cohorts/{cid}/matching-runs", headers=APAC_HR)
    assert r.status_code == 403
    r = await c.post(
        f"/cohorts/{cid}/imports", content=b"employee_id\n", headers={**EMEA_HR, "content-type": "text/csv"}
    )
    assert r.status_code == 403
    # HR for both regions may.
    assert (await c.put(f"/cohorts/{cid}/policy", json={}, headers=BOTH_HR)).status_code == 200
    # Creating a cohort needs all its regions.
    r = await c.post("/cohorts", json=cohort_body(regions=["EMEA", "APAC"]), headers=EMEA_HR)
    assert r.status_code == 403 and "APAC" in r.json()["detail"]
    assert (await c.post("/cohorts", json=cohort_body(regions=["EMEA"]), headers=EMEA_HR)).status_code == 201


async def test_service_token_reads_and_never_writes(svc: RunningService) -> None:
    c = svc.client
    cid, emea, _ = await _mixed_cohort(svc)
    assert (await c.get(f"/cohorts/{cid}/participants/{emea['id']}", headers=SERVICE)).status_code == 200
    for method, path, body in [
        ("POST", "/cohorts", cohort_body()),
        ("PUT", f"/cohorts/{cid}/policy", {}),
        ("PATCH", f"/cohorts/{cid}/participants/{emea['id']}", {"display_name": "S"}),
        ("POST", f"/cohorts/{cid}/participants/{emea['id']}/withdraw", {}),
        ("POST", f"/cohorts/{cid}/matching-runs", None),
    ]:
        r = await c.request(method, path, json=body, headers=SERVICE)
        assert r.status_code == 403, (method, path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_an_import_report_is_read_only_by_hr_of_every_region_of_the_cohort(svc: RunningService) -> None:
    """Its row errors name people of any region in the file."""
    c = svc.client
    r = await c.post("/cohorts", json=cohort_body(regions=["EMEA", "APAC"]), headers=HR)
    cid = str(r.json()["id"])
    assert (
        await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)
    ).status_code == 200
    r = await c.post(
        f"/cohorts/{cid}/imports", content=b"employee_id\n", headers={**HR, "content-type": "text/csv"}
    )
    assert r.status_code == 202, r.text
    job = f"/imports/{r.json()['id']}"
    for caller in (HR, BOTH_HR, SERVICE):
        assert (await c.get(job, headers=caller)).status_code == 200
    r = await c.get(job, headers=EMEA_HR)
    assert r.status_code == 403 and r.json()["missing_regions"] == ["APAC"], r.text
