"""Reporting HR can trust (issue 16 item 6): one definition of each figure everywhere (the cohort
summary is the overview of the cohort), no empty `(unknown)` group, names instead of raw ids, and
XLSX dates that are real Excel dates. Real PostgreSQL and Kafka (the reporting service of conftest)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import openpyxl
import pytest

from bridge_shared.contracts import notifications as n
from tests.reporting import scenario
from tests.reporting.conftest import HR, eventually, overview, publish, published_scenario
from tests.service_harness import RunningService, auth

pytestmark = pytest.mark.integration

EMEA_HR = auth("hr_regional", sub="hr-emea", regions=("EMEA",))
APAC_HR = auth("hr_regional", sub="hr-apac", regions=("APAC",))
AMER_HR = auth("hr_regional", sub="hr-amer", regions=("AMER",))
UNKNOWN = "(unknown)"


async def breakdown(
    svc: RunningService, by: str, headers: dict[str, str] = HR, **params: Any
) -> dict[str, Any]:
    r = await svc.client.get("/reports/breakdown", params={"by": by, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return {row["group"]: row for row in r.json()["rows"]}


# -- one definition of each figure ------------------------------------------------------------------


async def test_cohort_summary_and_overview_agree_on_the_same_cohort(reporting: RunningService) -> None:
    """The scenario has a closed pair (B): its people were matched. The first-slice summary counted
    2 x active pairs / not-withdrawn participants (4/7 = 0.57) where the overview says 6/8 = 0.75."""
    sc = await published_scenario(reporting)
    for hr in (HR, EMEA_HR, APAC_HR):
        ov = await overview(reporting, sc.cohort_id, headers=hr)
        r = await reporting.client.get(f"/cohorts/{sc.cohort_id}/summary", headers=hr)
        assert r.status_code == 200, r.text
        summary = r.json()
        assert summary["kpis"] == ov["kpis"] and summary["funnel"] == ov["funnel"]
        k = ov["kpis"]
        # The first slice's flat fields are the same figures under their old names.
        assert (
            summary["participants"],
            summary["mentors"],
            summary["mentees"],
            summary["pairs_active"],
            summary["matched_participants"],
            summary["match_rate"],
        ) == (k["enrolled"], k["mentors"], k["mentees"], k["pairs_active"], k["matched"], k["match_rate"])
        assert summary["match_rate"] == (round(k["matched"] / k["enrolled"], 4) if k["enrolled"] else None)
    whole = (await reporting.client.get(f"/cohorts/{sc.cohort_id}/summary", headers=HR)).json()
    assert (whole["name"], whole["match_rate"], whole["matched_participants"]) == (
        f"Cohort {sc.prefix}",
        scenario.EXPECTED["match_rate"],
        scenario.EXPECTED["matched"],
    )
    # The weekly series' running match rate ends on the same figure.
    weeks = (
        await reporting.client.get("/reports/weekly", params={"cohort_id": sc.cohort_id}, headers=HR)
    ).json()["weeks"]
    assert weeks[-1]["match_rate"] == whole["match_rate"]


# -- "(unknown)" only with members ------------------------------------------------------------------


async def test_breakdown_without_unknown_members_has_no_unknown_row(reporting: RunningService) -> None:
    """Notifications to people who are not participants (HR's weekly digest, here one of the cohort and
    one of no cohort) count in the overview but make no `(unknown)` group: it has no members."""
    sc = await published_scenario(reporting)
    digests = [
        sc.add(
            n.NotificationSentV1(
                notification_id=f"{sc.prefix}-hr-digest-{i}",
                recipient_id=f"{sc.prefix}-hr-contact",
                cohort_id=cohort,
                channel="email",
                kind="weekly_digest",
                source_event_id=f"weekly:{sc.prefix}",
                sent_at=scenario.day(7),
            ),
            scenario.day(7),
        )
        for i, cohort in enumerate((sc.cohort_id, None))
    ]
    await publish(reporting, digests)

    async def counted() -> bool:
        k = (await overview(reporting, sc.cohort_id))["kpis"]
        return bool(k["notifications_sent"] == scenario.EXPECTED["notifications_sent"] + 1)

    await eventually(counted, what="the HR digest to be counted")
    for by in ("region", "department", "band", "cohort"):
        rows = await breakdown(reporting, by, cohort_id=sc.cohort_id)
        assert UNKNOWN not in rows, f"by {by}: {rows.get(UNKNOWN)}"
        assert sum(row["enrolled"] for row in rows.values()) == scenario.EXPECTED["enrolled"]
    assert set(await breakdown(reporting, "region", cohort_id=sc.cohort_id)) == {"EMEA", "APAC"}
    # Across all cohorts too: the digest of no cohort makes no `(unknown)` cohort.
    assert UNKNOWN not in await breakdown(reporting, "cohort")


async def test_breakdown_with_an_unknown_member_has_the_unknown_row_with_its_count(
    reporting: RunningService,
) -> None:
    """Today's event contracts require region, department and seniority, so no event leaves a member
    unknown; a row written before them can be. The test writes one such participant into the read
    model (and removes it afterwards: the rebuild test on this service compares it with the events)."""
    sc = await published_scenario(reporting)
    legacy = f"{sc.prefix}-legacy"
    async with reporting.runtime.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO rm_participants (participant_id, cohort_id, role, enrolled_at) VALUES ($1, $2, $3, $4)",
            legacy,
            sc.cohort_id,
            "mentor",
            scenario.day(-9),
        )
    try:
        for by in ("region", "department", "band"):
            rows = await breakdown(reporting, by, cohort_id=sc.cohort_id)
            unknown = rows[UNKNOWN]
            assert (unknown["enrolled"], unknown["mentors"], unknown["matched"], unknown["match_rate"]) == (
                1,
                1,
                0,
                0.0,
            ), by
            assert unknown["label"] == UNKNOWN
            assert sum(row["enrolled"] for row in rows.values()) == scenario.EXPECTED["enrolled"] + 1
        # Known groups are unchanged, and the cohort itself is known.
        regions = await breakdown(reporting, "region", cohort_id=sc.cohort_id)
        assert (regions["EMEA"]["enrolled"], regions["APAC"]["enrolled"]) == (4, 4)
        assert UNKNOWN not in await breakdown(reporting, "cohort", cohort_id=sc.cohort_id)
        # A row with no known region is visible to global HR only.
        for by in ("region", "department", "band"):
            assert UNKNOWN not in await breakdown(reporting, by, headers=EMEA_HR, cohort_id=sc.cohort_id)
    finally:
        async with reporting.runtime.pool.acquire() as conn:
            await conn.execute("DELETE FROM rm_participants WHERE participant_id = $1", legacy)


# -- names where the read models have them ----------------------------------------------------------


async def test_at_risk_list_and_reports_carry_names_beside_ids(reporting: RunningService) -> None:
    sc = await published_scenario(reporting)
    q = {"cohort_id": sc.cohort_id}
    cohort_name = f"Cohort {sc.prefix}"
    r = await reporting.client.get("/reports/at-risk-pairs", params=q, headers=HR)
    assert r.status_code == 200, r.text
    assert [
        (p["pair_id"], p["cohort_id"], p["cohort_name"], p["mentor_name"], p["mentee_name"]) for p in r.json()
    ] == [(sc.pairs["C"], sc.cohort_id, cohort_name, "Person M2", "Person L3")]
    # Pair C is cross-region: both regions' HR see it, with the same names.
    for hr in (EMEA_HR, APAC_HR):
        risky = (await reporting.client.get("/reports/at-risk-pairs", params=q, headers=hr)).json()
        assert [(p["cohort_name"], p["mentor_name"], p["mentee_name"]) for p in risky] == [
            (cohort_name, "Person M2", "Person L3")
        ]

    assert (await overview(reporting, sc.cohort_id))["cohort_name"] == cohort_name
    # A regional HR with no region of the cohort is not told its name.
    assert (await overview(reporting, sc.cohort_id, headers=AMER_HR))["cohort_name"] is None

    rows = await breakdown(reporting, "cohort", cohort_id=sc.cohort_id)
    assert {g: row["label"] for g, row in rows.items()} == {sc.cohort_id: cohort_name}
    assert {g: row["label"] for g, row in (await breakdown(reporting, "region", **q)).items()} == {
        "EMEA": "EMEA",
        "APAC": "APAC",
    }

    tl = (await reporting.client.get(f"/reports/pairs/{sc.pairs['C']}/timeline", headers=HR)).json()
    assert (tl["cohort_id"], tl["cohort_name"], tl["mentor_name"], tl["mentee_name"]) == (
        sc.cohort_id,
        cohort_name,
        "Person M2",
        "Person L3",
    )


# -- XLSX dates --------------------------------------------------------------------------------------

DATE_COLUMNS = {
    "pairs": ("formed_at", "started_at", "agreement_confirmed_at", "closed_at", "last_session_at"),
    "participants": ("enrolled_at", "withdrawn_at"),
    "sessions": ("starts_at", "held_at"),
}


def utc(n: float) -> datetime:
    """The scenario's day n as the XLSX holds it: UTC, without a zone."""
    return scenario.day(n).replace(tzinfo=None)


async def test_xlsx_export_dates_are_excel_dates(reporting: RunningService) -> None:
    sc = await published_scenario(reporting)
    q = {"cohort_id": sc.cohort_id}
    sheets: dict[str, list[dict[str, Any]]] = {}
    for dataset, columns in DATE_COLUMNS.items():
        r = await reporting.client.get(f"/reports/exports/{dataset}.xlsx", params=q, headers=HR)
        assert r.status_code == 200, r.text
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        assert sheet is not None
        header = [c.value for c in sheet[1]]
        rows = []
        seen = 0
        for cells in sheet.iter_rows(min_row=2):
            rows.append({h: c for h, c in zip(header, cells, strict=True)})
            for column in columns:
                cell = rows[-1][column]
                if cell.value is None:
                    continue
                seen += 1
                assert isinstance(cell.value, datetime), (dataset, column, cell.value)
                assert cell.is_date and cell.number_format == "yyyy-mm-dd hh:mm", (dataset, column)
            # Text stays text, numbers stay numbers.
            assert isinstance(rows[-1]["cohort_id"].value, str)
        assert seen > 0, dataset
        sheets[dataset] = [{h: c.value for h, c in row.items()} for row in rows]

    pairs = {row["pair_id"]: row for row in sheets["pairs"]}
    a, b = pairs[sc.pairs["A"]], pairs[sc.pairs["B"]]
    assert (a["formed_at"], a["last_session_at"], b["closed_at"]) == (utc(-1), utc(21), utc(30))
    assert a["started_at"] == utc(-1 + 1 / 1440) and a["sessions_held"] == 3
    people = {row["participant_id"]: row for row in sheets["participants"]}
    w1 = people[sc.pids["W1"]]
    assert (w1["enrolled_at"], w1["withdrawn_at"]) == (utc(-9 + 7 * 0.01), utc(-5))
    held = sorted(row["held_at"] for row in sheets["sessions"] if row["held_at"] is not None)
    assert held == [utc(d) for d in (0, 3, 7, 13, 21)]
    # The CSV export keeps ISO 8601 text with the offset.
    r = await reporting.client.get("/reports/exports/pairs.csv", params=q, headers=HR)
    assert f"{sc.pairs['A']},{sc.cohort_id}," in r.text and "2026-03-01T09:00:00+00:00" in r.text
