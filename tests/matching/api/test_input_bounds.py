"""Bounded input in matching (issue 13): every case a security review found answers 4xx, and nothing
it refuses is stored or breaks HR's lists."""

from __future__ import annotations

from typing import Any

import pytest

from bridge_matching.domain.csv_import import FileError, parse_csv
from tests.matching.api.support import cohort_body, csv_of, person, wait_import
from tests.service_harness import RunningService, auth

HR = auth("hr_admin", sub="hr-bounds")


def _as(emp: str) -> dict[str, str]:
    return auth("participant", sub=emp)


async def _enrolling_cohort(svc: RunningService, **over: Any) -> str:
    r = await svc.client.post("/cohorts", json=cohort_body(**over), headers=HR)
    assert r.status_code == 201, r.text
    cid: str = r.json()["id"]
    r = await svc.client.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)
    assert r.status_code == 200, r.text
    return cid


async def _enrol(svc: RunningService, cid: str, emp: str) -> str:
    r = await svc.client.post(f"/cohorts/{cid}/participants", json=person(emp, "mentee", 9), headers=HR)
    assert r.status_code == 201, r.text
    pid: str = r.json()["id"]
    return pid


def _fields(r: Any) -> set[str]:
    return {e["field"] for e in r.json()["errors"]}


async def test_a_blank_language_is_refused_and_hr_still_lists_the_cohort(svc: RunningService) -> None:
    cid = await _enrolling_cohort(svc)
    pid = await _enrol(svc, cid, "BL01")
    for languages in ([" "], ["en", "  "], [], ["\x00"], ["e\tn"]):
        r = await svc.client.patch(
            f"/cohorts/{cid}/participants/{pid}", json={"languages": languages}, headers=_as("BL01")
        )
        assert r.status_code == 422, (languages, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert any(f.startswith("languages") for f in _fields(r)), r.text
    listed = await svc.client.get(f"/cohorts/{cid}/participants", headers=HR)
    assert listed.status_code == 200, listed.text
    assert [p["languages"] for p in listed.json()] == [["en"]]
    # Cleaning still applies to what is accepted: trimmed, lower-cased, de-duplicated.
    r = await svc.client.patch(
        f"/cohorts/{cid}/participants/{pid}", json={"languages": [" DE ", "de", "en"]}, headers=_as("BL01")
    )
    assert r.status_code == 200, r.text
    assert r.json()["languages"] == ["de", "en"]
    # A row stored before the rule (an empty list, a 1 kB skill) is still listed, as stored.
    async with svc.runtime.pool.acquire() as conn:
        await conn.execute(
            "UPDATE participants SET languages = '{}', skills_to_share = $2 WHERE id = $1::uuid",
            pid,
            ["s" * 1000],
        )
    listed = await svc.client.get(f"/cohorts/{cid}/participants", headers=HR)
    assert listed.status_code == 200, listed.text
    assert listed.json()[0]["languages"] == [] and listed.json()[0]["skills_to_share"] == ["s" * 1000]


async def test_huge_skills_are_refused_before_they_are_stored(svc: RunningService) -> None:
    cid = await _enrolling_cohort(svc)
    pid = await _enrol(svc, cid, "BS01")
    url = f"/cohorts/{cid}/participants/{pid}"
    # 50 skills of 1 MB each: the body alone is over the 1 MiB request cap.
    r = await svc.client.patch(url, json={"skills_to_share": ["x" * 1_000_000] * 50}, headers=_as("BS01"))
    assert r.status_code == 413, r.text[:300]
    assert r.json()["limit"] == svc.settings.http_max_body_bytes
    # Under the body cap, each skill is still bounded (100 characters).
    r = await svc.client.patch(url, json={"skills_to_share": ["y" * 101]}, headers=_as("BS01"))
    assert r.status_code == 422, r.text
    assert _fields(r) == {"skills_to_share.0"}
    r = await svc.client.patch(
        url, json={"skills_to_learn": [f"s{i}" for i in range(51)]}, headers=_as("BS01")
    )
    assert r.status_code == 422 and _fields(r) == {"skills_to_learn"}, r.text
    got = (await svc.client.get(url, headers=HR)).json()
    assert got["skills_to_share"] == ["strategy"]


async def test_a_taxonomy_item_too_long_is_refused(svc: RunningService) -> None:
    body = cohort_body(skill_taxonomy=["fine", "z" * 101])
    r = await svc.client.post("/cohorts", json=body, headers=HR)
    assert r.status_code == 422, r.text
    assert _fields(r) == {"skill_taxonomy.1"}
    # The largest taxonomy allowed (2,000 items of 100 characters) fits under the body cap and makes
    # an event the broker accepts.
    biggest = [f"{i:04d}" + "t" * 96 for i in range(2000)]
    r = await svc.client.post("/cohorts", json=cohort_body(skill_taxonomy=biggest), headers=HR)
    assert r.status_code == 201, r.text[:300]
    r = await svc.client.post("/cohorts", json=cohort_body(skill_taxonomy=[*biggest, "one more"]), headers=HR)
    assert r.status_code == 422 and _fields(r) == {"skill_taxonomy"}, r.text[:300]


async def test_text_is_checked_after_cleaning(svc: RunningService) -> None:
    for name in ("   ", "a\x00b", "line\nbreak", "\u0085", "x" * 201):
        r = await svc.client.post("/cohorts", json=cohort_body(name=name), headers=HR)
        assert r.status_code == 422, (name, r.text)
        assert _fields(r) == {"name"}, r.text
    r = await svc.client.post("/cohorts", json=cohort_body(name="  Spring cohort  "), headers=HR)
    assert r.status_code == 201 and r.json()["name"] == "Spring cohort", r.text


async def test_query_parameters_are_bounded(svc: RunningService) -> None:
    cid = await _enrolling_cohort(svc)
    base = f"/cohorts/{cid}/participants"
    for offset in (2**63, 2**64, 1_000_001, -1):
        r = await svc.client.get(base, params={"offset": offset}, headers=HR)
        assert r.status_code == 422, (offset, r.text)
        assert _fields(r) == {"offset"}
    assert (await svc.client.get(base, params={"offset": 1_000_000}, headers=HR)).status_code == 200
    r = await svc.client.get(f"/cohorts/{cid}/pairs", params={"status": "formed\x00"}, headers=HR)
    assert r.status_code == 422 and _fields(r) == {"status"}, r.text


async def test_csv_rows_have_the_same_bounds(svc: RunningService) -> None:
    cid = await _enrolling_cohort(svc)
    rows = [
        person("CB01", "mentor", 3),
        person("CB02", "mentee", 9, skills_to_learn=["k" * 101]),
        person("CB03", "mentee", 9, display_name="=HYPERLINK(\x01)"),
        person("CB04", "mentee", 9, languages=[" "]),
    ]
    r = await svc.client.post(
        f"/cohorts/{cid}/imports", content=csv_of(rows), headers={**HR, "Content-Type": "text/csv"}
    )
    assert r.status_code == 202, r.text
    job = await wait_import(svc.client, r.json()["id"], HR)
    report = job["report"]
    rejected = {(e["employee_id"], e["field"].split(".")[0]) for e in report["errors"]}
    assert {("CB02", "skills_to_learn"), ("CB03", "display_name"), ("CB04", "languages")} <= rejected, report
    listed = (await svc.client.get(f"/cohorts/{cid}/participants", headers=HR)).json()
    assert [p["employee_id"] for p in listed] == ["CB01"]
    # A NUL anywhere makes it no text file: refused whole, with its line.
    r = await svc.client.post(
        f"/cohorts/{cid}/imports",
        content=csv_of([rows[0], person("CB05", "mentee", 9, department="Fin\x00ance")]),
        headers={**HR, "Content-Type": "text/csv"},
    )
    assert r.status_code == 422, r.text
    assert "line 3" in r.json()["detail"]


async def test_the_csv_import_has_its_own_body_cap(svc: RunningService) -> None:
    """A CSV over the JSON body cap (1 MiB) is accepted on the import route (import_max_bytes); a
    JSON body of that size anywhere else is 413, whether it declares its length or is chunked."""
    cid = await _enrolling_cohort(svc)
    # An unknown column is ignored: 12 rows carrying 100 kB each make a 1.2 MB file.
    people = [person(f"CI{i:02d}", "mentor", 3) for i in range(12)]
    header, *lines = csv_of(people).splitlines()
    text = "\n".join([f"notes,{header}", *(f"{'n' * 100_000},{line}" for line in lines)]) + "\n"
    assert len(text) > svc.settings.http_max_body_bytes < svc.settings.import_max_bytes  # type: ignore[attr-defined]
    r = await svc.client.post(
        f"/cohorts/{cid}/imports", content=text, headers={**HR, "Content-Type": "text/csv"}
    )
    assert r.status_code == 202, r.text[:300]
    job = await wait_import(svc.client, r.json()["id"], HR)
    assert job["report"]["accepted"] == 12, job

    async def chunks() -> Any:
        for _ in range(12):
            yield b"x" * 100_000

    r = await svc.client.post(
        "/cohorts", content=chunks(), headers={**HR, "Content-Type": "application/json"}
    )
    assert r.status_code == 413, r.text[:300]
    assert r.json()["type"].endswith("/body-too-large")


def test_a_csv_field_over_the_csv_modules_limit_is_a_file_error() -> None:
    """Python's csv refuses a field over 128 kB; the import reports it (with the line) instead of
    failing as an unexpected error."""
    header, row = csv_of([person("CF01", "mentor", 3)]).split("\n", 1)
    text = f"notes,{header}\n{'n' * 200_000},{row}"
    with pytest.raises(FileError, match="line 2"):
        parse_csv(text, cohort_regions=["EMEA"])
    with pytest.raises(FileError, match="line 1"):
        parse_csv(f"{'h' * 200_000},{header}\n", cohort_regions=["EMEA"])
