"""Issue 19: HR's view of the company directory (GET /directory/people, /directory/people/{id}) and
enrolment from it (POST /cohorts/{id}/participants/from-directory), with the one region rule: regional
HR see the people of their regions, participants nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bridge_matching.app import directory
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.domain.directory import DirectoryRecord
from bridge_matching.main import create_app
from bridge_matching.settings import MatchingSettings
from bridge_shared.scheduling.clock import FrozenClock
from tests.matching.api.support import cohort_body, person
from tests.service_harness import RunningService, auth, running_service

HR = auth("hr_admin", sub="hr-directory-api")
EMEA_HR = auth("hr_regional", sub="hr-emea", regions=("EMEA",))
AMER_HR = auth("hr_regional", sub="hr-amer", regions=("AMER",))
SERVICE = auth("service", sub="reporting")


@pytest.fixture(scope="module")
async def svc(admin_dsn: str, bootstrap_servers: str) -> AsyncIterator[RunningService]:
    clock = FrozenClock(datetime(2027, 1, 25, 9, 0, tzinfo=UTC))
    async with running_service(
        lambda s: create_app(s, clock=clock),
        MatchingSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        expiry_interval_seconds=0,
        directory_leavers_interval_seconds=0,
        outbox_idle_poll_seconds=0.5,
    ) as running:
        yield running


def tag() -> str:
    return uuid.uuid4().hex[:6].upper()


async def put(svc: RunningService, emp: str, **fields: Any) -> directory.DirectoryEntry:
    rt: MatchingRuntime = svc.runtime
    base = {"employee_id": emp, "display_name": f"Person {emp}", "email": f"{emp.lower()}@corp.example"}
    rec = DirectoryRecord.model_validate({**base, **fields})
    return await directory.create(rt, rec, source="hris_file")


async def enrolling_cohort(svc: RunningService) -> str:
    r = await svc.client.post("/cohorts", json=cohort_body(), headers=HR)
    assert r.status_code == 201, r.text
    cid = str(r.json()["id"])
    r = await svc.client.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)
    assert r.status_code == 200
    return cid


def names(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [p["employee_id"] for p in r.json()]


async def test_hr_lists_and_reads_the_directory_within_their_regions(svc: RunningService) -> None:
    c, t = svc.client, tag()
    a = await put(svc, f"A{t}", region="EMEA", start_date="2026-06-01", department="Sales")
    b = await put(svc, f"B{t}", region="AMER", display_name=f"Bea {t}")
    left = await put(svc, f"C{t}", region="EMEA", display_name=f"Cy {t}")
    await directory.replace(
        svc.runtime, left.id, left.record.model_copy(update={"active": False}), source="scim"
    )
    await put(svc, f"D{t}", display_name=f"Dee {t}")  # no region: global readers only

    assert (await c.get("/directory/people", headers=auth("participant", sub=f"A{t}"))).status_code == 403
    assert (
        await c.get(f"/directory/people/{a.id}", headers=auth("participant", sub=f"A{t}"))
    ).status_code == 403

    r = await c.get("/directory/people", params={"q": t}, headers=HR)
    assert names(r) == [f"B{t}", f"C{t}", f"D{t}", f"A{t}"]  # by name: Bea, Cy, Dee, Person A...
    first = names(await c.get("/directory/people", params={"q": t, "limit": 2}, headers=HR))
    rest = names(await c.get("/directory/people", params={"q": t, "limit": 2, "offset": 2}, headers=HR))
    assert first + rest == [f"B{t}", f"C{t}", f"D{t}", f"A{t}"]
    r = await c.get("/directory/people", params={"employee_id": f"a{t}".lower()}, headers=HR)
    assert names(r) == [f"A{t}"]
    # q is text, not a pattern: wildcards match themselves.
    assert names(await c.get("/directory/people", params={"q": f"%{t}"}, headers=HR)) == []
    assert names(await c.get("/directory/people", params={"q": t, "status": "left"}, headers=HR)) == [f"C{t}"]
    live = await c.get("/directory/people", params={"q": t, "status": "live"}, headers=HR)
    assert names(live) == [f"B{t}", f"D{t}", f"A{t}"]
    since = await c.get("/directory/people", params={"q": t, "joined_since": "2027-01-01"}, headers=HR)
    assert names(since) == [f"B{t}", f"C{t}", f"D{t}"]  # A's start date is earlier
    assert (await c.get("/directory/people", params={"status": "gone"}, headers=HR)).status_code == 422

    # Regional HR: their regions' people only; others (and people of no region) are 404.
    assert names(await c.get("/directory/people", params={"q": t}, headers=EMEA_HR)) == [f"C{t}", f"A{t}"]
    assert names(await c.get("/directory/people", params={"q": t}, headers=AMER_HR)) == [f"B{t}"]
    assert (await c.get(f"/directory/people/{b.id}", headers=EMEA_HR)).status_code == 404
    assert names(await c.get("/directory/people", params={"q": t}, headers=SERVICE)) == [
        f"B{t}",
        f"C{t}",
        f"D{t}",
        f"A{t}",
    ]

    r = await c.get(f"/directory/people/{a.id}", headers=EMEA_HR)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == str(a.id) and body["department"] == "Sales" and body["start_date"] == "2026-06-01"
    assert body["status"] == "live" and body["version"] == 1 and body["source"] == "hris_file"
    gone = (await c.get(f"/directory/people/{left.id}", headers=HR)).json()
    assert gone["status"] == "left" and gone["left_cause"] == "deactivated" and gone["active"] is False
    r = await c.get(f"/directory/people/{uuid.uuid4()}", headers=HR)
    assert r.status_code == 404 and r.json()["title"] == "Person not found"


async def test_enrol_from_the_directory(svc: RunningService) -> None:
    c, t = svc.client, tag()
    cid = await enrolling_cohort(svc)
    full = await put(
        svc,
        f"P{t}",
        department="Finance",
        region="EMEA",
        seniority_level=9,
        manager_employee_id=f"M{t}",
        timezone="Europe/Paris",
        locale="fr",
    )
    path = f"/cohorts/{cid}/participants/from-directory"
    body = {
        "person_id": str(full.id),
        "role": "mentee",
        "languages": ["en", "fr-FR"],
        "skills_to_learn": ["strategy"],
    }
    assert (await c.post(path, json=body, headers=auth("participant", sub=f"P{t}"))).status_code == 403
    assert (await c.post(path, json=body, headers=SERVICE)).status_code == 403
    assert (await c.post(path, json=body, headers=AMER_HR)).status_code == 404  # not a person they see
    r = await c.post(path, json=body, headers=EMEA_HR)
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["employee_id"], got["display_name"], got["email"]) == (
        f"P{t}",
        f"Person P{t}",
        f"p{t.lower()}@corp.example",
    )
    assert (got["department"], got["region"], got["seniority_level"]) == ("Finance", "EMEA", 9)
    assert (got["manager_employee_id"], got["timezone"], got["locale"]) == (f"M{t}", "Europe/Paris", "fr")
    assert (got["role"], got["languages"], got["skills_to_learn"]) == ("mentee", ["en", "fr"], ["strategy"])
    # Again, with the participant's own time zone: the same enrolment, updated (200).
    r = await c.post(path, json={**body, "timezone": "Europe/London"}, headers=HR)
    assert r.status_code == 200 and r.json()["id"] == got["id"] and r.json()["timezone"] == "Europe/London"

    # The directory lacks what enrolment needs: 422 naming each field.
    thin = await put(svc, f"Q{t}", region="EMEA")
    r = await c.post(path, json={**body, "person_id": str(thin.id)}, headers=HR)
    assert r.status_code == 422, r.text
    assert sorted(e["field"] for e in r.json()["errors"]) == ["department", "seniority_level", "timezone"]
    assert all(e["type"] == "missing_in_directory" for e in r.json()["errors"])
    # Invalid participant fields are the enrolment's 422s.
    r = await c.post(path, json={**body, "languages": ["klingon"]}, headers=HR)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "languages.0"

    # A leaver: 409.
    gone = await put(svc, f"R{t}", department="Finance", region="EMEA", seniority_level=9, active=False)
    r = await c.post(path, json={**body, "person_id": str(gone.id), "timezone": "UTC"}, headers=HR)
    assert r.status_code == 409 and r.json()["title"] == "Person left"
    assert r.json()["left_cause"] == "deactivated"
    r = await c.post(path, json={**body, "person_id": str(uuid.uuid4())}, headers=HR)
    assert r.status_code == 404


async def test_any_enrolment_takes_the_fields_hr_owns_from_the_directory(svc: RunningService) -> None:
    c, t = svc.client, tag()
    cid = await enrolling_cohort(svc)
    await put(svc, f"S{t}", department="Legal", region="AMER", seniority_level=8, display_name="Sam Roe")
    p = person(f"s{t}".lower(), "mentee", 9, dept="Finance")  # the id in another case: the same person
    r = await c.post(f"/cohorts/{cid}/participants", json=p, headers=HR)
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["department"], got["region"], got["seniority_level"], got["display_name"]) == (
        "Legal",
        "AMER",
        8,
        "Sam Roe",
    )
    assert got["email"] == p["email"] and got["employee_id"] == p["employee_id"]
    # The directory's region decides whose enrolment it is: EMEA HR may not enrol an AMER person.
    q = person(f"U{t}", "mentee", 9)
    await put(svc, f"U{t}", region="AMER")
    r = await c.post(f"/cohorts/{cid}/participants", json=q, headers=EMEA_HR)
    assert r.status_code == 403 and r.json()["missing_regions"] == ["AMER"]
    # Someone the directory says has left is not enrolled.
    await put(svc, f"V{t}", active=False)
    r = await c.post(f"/cohorts/{cid}/participants", json=person(f"V{t}", "mentee", 9), headers=HR)
    assert r.status_code == 409 and r.json()["title"] == "Person left"
