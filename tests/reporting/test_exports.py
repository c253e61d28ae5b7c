"""CSV and XLSX exports: streamed, complete, scoped."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest

from tests.reporting.conftest import HR, published_scenario
from tests.service_harness import RunningService, auth

pytestmark = pytest.mark.integration


def xlsx_rows(data: bytes) -> list[list[str]]:
    """Cells of the first sheet (xlsxwriter's constant_memory mode writes inline strings)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    rows = []
    for row in re.findall(r"<row [^>]*>(.*?)</row>", xml):
        cells = re.findall(r"<c [^>]*?(?:/>|>(.*?)</c>)", row)
        rows.append([re.sub(r"<[^>]+>", "", c) for c in cells])
    return rows


async def test_exports_stream_every_row_in_scope(reporting: RunningService) -> None:
    sc = await published_scenario(reporting)
    params = {"cohort_id": sc.cohort_id}
    r = await reporting.client.get("/reports/exports/pairs.csv", params=params, headers=HR)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert sorted(row["pair_id"] for row in rows) == sorted(sc.pairs.values())
    by_id = {row["pair_id"]: row for row in rows}
    assert by_id[sc.pairs["A"]]["sessions_held"] == "3" and by_id[sc.pairs["A"]]["balance_index"] == "1.0000"
    assert by_id[sc.pairs["C"]]["status"] == "at_risk" and by_id[sc.pairs["C"]]["risk_reasons"] == "inactive"
    assert by_id[sc.pairs["B"]]["status"] == "closed"

    r = await reporting.client.get("/reports/exports/sessions.csv", params=params, headers=HR)
    sessions = list(csv.DictReader(io.StringIO(r.text)))
    assert sorted(s["status"] for s in sessions) == ["cancelled"] + ["held"] * 5

    r = await reporting.client.get("/reports/exports/participants.xlsx", params=params, headers=HR)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    cells = xlsx_rows(r.content)
    assert cells[0][:3] == ["participant_id", "cohort_id", "employee_id"]
    assert len(cells) == 1 + 8

    emea = auth("hr_regional", regions=("EMEA",))
    r = await reporting.client.get("/reports/exports/participants.xlsx", params=params, headers=emea)
    regions = {row[4] for row in xlsx_rows(r.content)[1:]}
    assert regions == {"EMEA"}

    # No rows still gives a header, and an unknown dataset is a 422.
    r = await reporting.client.get("/reports/exports/pairs.csv", params={"cohort_id": "nope"}, headers=HR)
    assert r.text.splitlines()[0].startswith("pair_id,cohort_id")
    assert (await reporting.client.get("/reports/exports/secrets.csv", headers=HR)).status_code == 422
