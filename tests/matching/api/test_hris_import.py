"""HRIS files as HR exports them, through the real service (issue 12, item 6): a `;`-separated file
with a BOM, language tags, overnight windows and employee ids that differ only in case."""

from __future__ import annotations

from typing import Any

from bridge_matching.domain.csv_import import to_csv
from tests.matching.api.support import cohort_body, person, wait_import
from tests.service_harness import RunningService, auth

HR = auth("hr_admin", sub="hr-hris")
CSV = {**HR, "Content-Type": "text/csv"}
OVERNIGHT = [
    {"weekday": 4, "start": "22:00", "end": "02:00"},
    {"weekday": 0, "start": "09:00", "end": "17:00"},
]


async def _enrolling_cohort(svc: RunningService) -> str:
    r = await svc.client.post("/cohorts", json=cohort_body(), headers=HR)
    assert r.status_code == 201, r.text
    cid: str = r.json()["id"]
    r = await svc.client.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)
    assert r.status_code == 200, r.text
    return cid


async def _import(svc: RunningService, cid: str, body: bytes) -> dict[str, Any]:
    r = await svc.client.post(f"/cohorts/{cid}/imports", content=body, headers=CSV)
    assert r.status_code == 202, r.text
    return await wait_import(svc.client, r.json()["id"], HR)


async def _listed(svc: RunningService, cid: str) -> dict[str, dict[str, Any]]:
    r = await svc.client.get(f"/cohorts/{cid}/participants", headers=HR)
    assert r.status_code == 200, r.text
    return {p["employee_id"]: p for p in r.json()}


async def test_a_semicolon_file_with_a_bom_imports_end_to_end(svc: RunningService) -> None:
    cid = await _enrolling_cohort(svc)
    rows = [
        person(
            "hm1",
            "mentor",
            2,
            languages=["en-GB", "de"],
            availability=OVERNIGHT,
            skills_to_share=["Generative AI", "generative ai", "TikTok"],
        ),
        person("HL1", "mentee", 10, manager="HM1", languages=["EN-us"], requested_partners=["HM1"]),
        person("HM1", "mentee", 9),  # hm1 again: a duplicate, as an exact repeat would be
        person("HK1", "mentee", 9, languages=["klingon"]),
    ]
    text = to_csv(rows, delimiter=";", bom=True, lineterminator="\r\n")
    job = await _import(svc, cid, text.encode("utf-8"))
    assert job["status"] == "completed", job
    rep = job["report"]
    assert (rep["total"], rep["accepted"], rep["rejected"], rep["inserted"]) == (4, 2, 2, 2)
    assert rep["delimiter"] == "semicolon"
    errors = {e["employee_id"]: e for e in rep["errors"]}
    assert errors["HM1"]["field"] == "employee_id" and "first on line 2" in errors["HM1"]["message"]
    assert (
        errors["HK1"]["field"] == "languages.0"
        and "'klingon' is not a known language" in errors["HK1"]["message"]
    )
    assert [(n["line"], n["employee_id"], n["field"]) for n in rep["notes"]] == [
        (2, "hm1", "languages"),
        (3, "HL1", "languages"),
    ]
    assert "'EN-us' is stored as 'en'" in rep["notes"][1]["message"]

    stored = await _listed(svc, cid)
    assert set(stored) == {"hm1", "HL1"}
    assert stored["hm1"]["languages"] == ["de", "en"] and stored["HL1"]["languages"] == ["en"]
    assert stored["hm1"]["availability"] == OVERNIGHT
    assert stored["hm1"]["skills_to_share"] == ["Generative AI", "TikTok"]
    kinds = {t["name"]: t["kind"] for t in stored["hm1"]["skill_tags"]}
    assert kinds == {"Generative AI": "taxonomy", "TikTok": "free", "strategy": "taxonomy"}

    # The same people in a tab file, their ids in another case: the same participants, unchanged.
    again = to_csv(
        [{**rows[0], "employee_id": "HM1"}, {**rows[1], "employee_id": "hl1"}], delimiter="\t", bom=True
    )
    rep2 = (await _import(svc, cid, again.encode()))["report"]
    assert (rep2["inserted"], rep2["updated"], rep2["unchanged"], rep2["delimiter"]) == (0, 0, 2, "tab")
    assert set(await _listed(svc, cid)) == {"hm1", "HL1"}


async def test_a_header_mismatch_fails_the_job_naming_what_was_found(svc: RunningService) -> None:
    cid = await _enrolling_cohort(svc)
    job = await _import(svc, cid, "\ufeffEmployee;Role;Name\r\nA1;mentor;Ann\r\n".encode())
    assert job["status"] == "failed"
    assert "semicolon-separated" in job["error"] and "'employee', 'role', 'name'" in job["error"]
    assert "missing required column(s): employee_id, display_name" in job["error"]


async def test_a_utf16_file_is_refused_with_what_to_do(svc: RunningService) -> None:
    cid = await _enrolling_cohort(svc)
    body = to_csv([person("U1", "mentor", 2)], delimiter="\t").encode("utf-16")
    r = await svc.client.post(f"/cohorts/{cid}/imports", content=body, headers=CSV)
    assert r.status_code == 415 and "CSV UTF-8" in r.json()["detail"]


async def test_enrolment_languages_windows_and_ids_through_the_api(svc: RunningService) -> None:
    c = svc.client
    cid = await _enrolling_cohort(svc)
    url = f"/cohorts/{cid}/participants"
    r = await c.post(
        url, json=person("ea1", "mentor", 2, languages=["en-GB"], availability=OVERNIGHT), headers=HR
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert r.json()["languages"] == ["en"] and r.json()["availability"] == OVERNIGHT

    # A1 when a1 exists: the same person (an update of the stored row, its id as first written).
    r = await c.post(url, json=person("EA1", "mentor", 3, languages=["de"]), headers=HR)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == pid and r.json()["employee_id"] == "ea1" and r.json()["seniority_level"] == 3
    assert list(await _listed(svc, cid)) == ["ea1"]

    # An unknown language or an empty window: a 422 problem naming the field.
    cases: list[tuple[dict[str, Any], str]] = [
        ({"languages": ["en", "klingon"]}, "languages.1"),
        ({"availability": [{"weekday": 4, "start": "22:00", "end": "22:00"}]}, "availability.0"),
    ]
    for bad, field in cases:
        r = await c.post(url, json=person("EB1", "mentor", 2, **bad), headers=HR)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert any(e["field"].endswith(field) for e in r.json()["errors"]), r.text
        r = await c.patch(f"{url}/{pid}", json=bad, headers=HR)
        assert r.status_code == 422 and any(e["field"] == field for e in r.json()["errors"]), r.text
    empty = next(e for e in r.json()["errors"] if e["field"] == "availability.0")
    assert "end must differ from start" in empty["message"]

    # PATCH normalises like the import.
    r = await c.patch(f"{url}/{pid}", json={"languages": ["DE-at", "EN-us"]}, headers=HR)
    assert r.status_code == 200 and r.json()["languages"] == ["de", "en"], r.text


async def test_a_block_written_in_another_case_keeps_the_pair_apart(svc: RunningService) -> None:
    c = svc.client
    cid = await _enrolling_cohort(svc)
    url = f"/cohorts/{cid}/participants"
    people = [
        person("BM1", "mentor", 2, blocked_partners=["bl1"]),
        person("BM2", "mentor", 3),
        person("BL1", "mentee", 10, requested_partners=["bm2"]),
    ]
    ids = {}
    for p in people:
        r = await c.post(url, json=p, headers=HR)
        assert r.status_code == 201, r.text
        ids[p["employee_id"]] = r.json()["id"]
    r = await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "matching"}, headers=HR)
    assert r.status_code == 200, r.text
    r = await c.get(
        f"{url}/{ids['BL1']}/suggestions", params={"k": 5}, headers=auth("participant", sub="BL1")
    )
    assert r.status_code == 200, r.text
    suggested = [s["participant_id"] for s in r.json()]
    assert suggested == [ids["BM2"]]  # BM1 blocked "bl1", who is BL1
    assert r.json()[0]["breakdown"]["requested_partner"] > 0  # BL1 asked for "bm2", who is BM2
