"""The one region-scoping rule (docs/access.md) in reporting: figures and exports cover only regions in
scope; a cross-region pair (the scenario's C: EMEA mentor, APAC mentee) counts in each of its regions'
scope, with the out-of-scope partner by id, name and region only; service reads every region.
(Reporting has no write endpoints; the read-only rule for service is in tests/shared/test_scope_rule.py.)"""

from __future__ import annotations

import csv
import io

import pytest

from tests.reporting.conftest import HR, overview, published_scenario
from tests.service_harness import RunningService, auth

pytestmark = pytest.mark.integration

EMEA_HR = auth("hr_regional", sub="hr-emea", regions=("EMEA",))
APAC_HR = auth("hr_regional", sub="hr-apac", regions=("APAC",))
AMER_HR = auth("hr_regional", sub="hr-amer", regions=("AMER",))
SERVICE = auth("service", sub="warehouse")


async def test_cross_region_pair_counts_in_each_of_its_regions(reporting: RunningService) -> None:
    sc = await published_scenario(reporting)
    c, q = sc.cohort_id, {"cohort_id": sc.cohort_id}
    emea = (await overview(reporting, c, headers=EMEA_HR))["kpis"]["pairs_formed"]
    apac = (await overview(reporting, c, headers=APAC_HR))["kpis"]["pairs_formed"]
    amer = (await overview(reporting, c, headers=AMER_HR))["kpis"]["pairs_formed"]
    everyone = (await overview(reporting, c, headers=HR))["kpis"]["pairs_formed"]
    assert (emea, apac, amer, everyone) == (2, 2, 0, 3)  # A+C, B+C, none, all
    # Grouped by region, each HR sees the pair under their own region.
    for hr, region in ((EMEA_HR, "EMEA"), (APAC_HR, "APAC")):
        r = await reporting.client.get("/reports/breakdown", params={**q, "by": "region"}, headers=hr)
        assert r.status_code == 200, r.text
        assert [row["group"] for row in r.json()["rows"]] == [region]
    # The cohort summary is their overview of the cohort: their regions only (pair C in both).
    summary = {}
    for name, hr in (("emea", EMEA_HR), ("apac", APAC_HR)):
        r = await reporting.client.get(f"/cohorts/{c}/summary", headers=hr)
        assert r.status_code == 200, r.text
        b = r.json()
        assert b["kpis"] == (await overview(reporting, c, headers=hr))["kpis"]
        summary[name] = (b["participants"], b["pairs_active"], b["matched_participants"])
    # Enrolled (withdrawn W1 included), active pairs, matched (B's people too: they were in a pair).
    assert summary == {"emea": (4, 2, 3), "apac": (4, 1, 3)}
    assert (await reporting.client.get(f"/cohorts/{c}/summary", headers=AMER_HR)).status_code == 404
    # The pair row and its timeline: visible to both regions' HR, not to a third.
    for hr in (EMEA_HR, APAC_HR, SERVICE):
        r = await reporting.client.get(f"/reports/pairs/{sc.pairs['C']}/timeline", headers=hr)
        assert r.status_code == 200, r.text
    r = await reporting.client.get(f"/reports/pairs/{sc.pairs['C']}/timeline", headers=AMER_HR)
    assert r.status_code == 404


async def test_exports_cover_only_regions_in_scope_without_contact_details(reporting: RunningService) -> None:
    sc = await published_scenario(reporting)
    q = {"cohort_id": sc.cohort_id}
    r = await reporting.client.get("/reports/exports/pairs.csv", params=q, headers=EMEA_HR)
    rows = {row["pair_id"]: row for row in csv.DictReader(io.StringIO(r.text))}
    assert set(rows) == {sc.pairs["A"], sc.pairs["C"]}
    c = rows[sc.pairs["C"]]
    assert (c["mentor_region"], c["region"]) == ("EMEA", "APAC") and c["mentee_name"] == "Person L3"
    assert "@" not in r.text and "Asia/" not in r.text and "Europe/" not in r.text
    r = await reporting.client.get("/reports/exports/participants.csv", params=q, headers=APAC_HR)
    people = list(csv.DictReader(io.StringIO(r.text)))
    assert people and {p["region"] for p in people} == {"APAC"} and "@" not in r.text
    r = await reporting.client.get("/reports/exports/pairs.csv", params=q, headers=AMER_HR)
    assert list(csv.DictReader(io.StringIO(r.text))) == []
    r = await reporting.client.get("/reports/exports/pairs.csv", params=q, headers=SERVICE)
    assert len(list(csv.DictReader(io.StringIO(r.text)))) == 3
