"""The HR dashboard in a real headless Chromium: it renders charts and shows the API's numbers."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.reporting.cdp import Browser, find_chromium
from tests.reporting.conftest import HR, published_scenario
from tests.service_harness import RunningService, auth, token

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def served(reporting: RunningService) -> Any:
    """The already-started reporting app, also on a real TCP port for the browser."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            reporting.app, host="127.0.0.1", port=port, lifespan="off", log_config=None, access_log=False
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_dashboard_page_is_public_and_self_contained(reporting: RunningService) -> None:
    r = await reporting.client.get("/dashboard")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "http" not in r.text.replace("http-equiv", "")  # no CDN or other origin
    js = await reporting.client.get("/dashboard/static/vendor/chart.umd.min.js")
    assert js.status_code == 200 and "Chart" in js.text
    assert (await reporting.client.get("/dashboard/static/../main.py")).status_code == 404
    # The data stays behind authentication.
    assert (await reporting.client.get("/reports/overview")).status_code == 401


async def test_dashboard_renders_charts_with_the_api_numbers(reporting: RunningService, served: str) -> None:
    chromium = find_chromium()
    if chromium is None:
        pytest.fail(
            "Chromium is not installed: the dashboard test needs the Debian 'chromium' package "
            "(listed in .ci/system-packages.txt; `make deps` or apt-get install chromium)"
        )
    sc = await published_scenario(reporting)
    api = (
        await reporting.client.get("/reports/overview", params={"cohort_id": sc.cohort_id}, headers=HR)
    ).json()
    regions = (
        await reporting.client.get(
            "/reports/breakdown", params={"cohort_id": sc.cohort_id, "by": "region"}, headers=HR
        )
    ).json()

    async with Browser(chromium) as browser:
        await browser.goto(f"{served}/dashboard?cohort_id={sc.cohort_id}&token={token('hr_admin')}")
        await browser.wait_for(
            "window.bridgeDashboard && (window.bridgeDashboard.ready || window.bridgeDashboard.error)"
        )
        assert await browser.evaluate("window.bridgeDashboard.error") is None
        # Charts rendered: four Chart.js instances with drawn canvases.
        drawn = await browser.wait_for("""(() => {
            const ids = ['funnel', 'weekly', 'balance', 'satisfaction'];
            const ok = ids.every((id) => { const c = Chart.getChart(id); return c && c.canvas.width > 0 && c.chartArea; });
            return ok && ids.length; })()""")
        assert drawn == 4
        shown = await browser.evaluate(
            "Object.fromEntries([...document.querySelectorAll('[data-kpi]')].map("
            "(e) => [e.dataset.kpi, e.querySelector('.value').dataset.raw]))"
        )
        for key, raw in shown.items():
            want = api["kpis"][key]
            assert raw == ("" if want is None else _js_str(want)), (
                f"{key}: page shows {raw!r}, API says {want!r}"
            )
        assert shown["sessions_held"] == "5" and shown["nps"] == "25"
        funnel = await browser.evaluate("Chart.getChart('funnel').data.datasets[0].data")
        assert funnel == [s["count"] for s in api["funnel"]]
        balance = await browser.evaluate("Chart.getChart('balance').data")
        assert balance["labels"] == [r["group"] for r in regions["rows"]]
        assert balance["datasets"][0]["data"] == [r["balance_index"] for r in regions["rows"]]
        nps = await browser.evaluate("Chart.getChart('satisfaction').data.datasets[1].data")
        assert nps == [r["nps"] for r in regions["rows"]]
        at_risk = await browser.evaluate(
            "[...document.querySelectorAll('#atrisk tbody tr')].map((t) => t.dataset.pairId)"
        )
        assert at_risk == [sc.pairs["C"]]
        assert "token=" not in await browser.evaluate("window.location.href")
        await browser.screenshot(ARTIFACTS / "dashboard.png")

        # A regional token sees only its region on the page too.
        emea = auth("hr_regional", regions=("EMEA",))["Authorization"].split()[1]
        await browser.evaluate("sessionStorage.clear()")
        await browser.goto(f"{served}/dashboard?cohort_id={sc.cohort_id}&token={emea}")
        await browser.wait_for("window.bridgeDashboard && window.bridgeDashboard.ready")
        labels = await browser.evaluate("Chart.getChart('balance').data.labels")
        assert labels == ["EMEA"]
        assert (
            await browser.evaluate("document.querySelector('[data-kpi=enrolled] .value').textContent") == "4"
        )
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000


def _js_str(value: Any) -> str:
    """How JavaScript's String() renders a JSON number."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


async def test_dashboard_shows_names_not_ids(reporting: RunningService, served: str) -> None:
    """The at-risk table names the pair's two people and the cohort; the ids stay on the row (data
    attributes, tooltip) for whoever needs them. The scope line names the cohort too."""
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("Chromium is not installed: the dashboard test needs the Debian 'chromium' package")
    sc = await published_scenario(reporting)
    cohort_name = f"Cohort {sc.prefix}"
    async with Browser(chromium) as browser:
        await browser.goto(f"{served}/dashboard?cohort_id={sc.cohort_id}&token={token('hr_admin')}")
        await browser.wait_for(
            "window.bridgeDashboard && (window.bridgeDashboard.ready || window.bridgeDashboard.error)"
        )
        assert await browser.evaluate("window.bridgeDashboard.error") is None
        table = await browser.evaluate(
            "[...document.querySelectorAll('#atrisk tbody tr')].map((tr) => ({"
            "cells: [...tr.cells].map((td) => td.textContent), pair: tr.dataset.pairId,"
            "cohort: tr.dataset.cohortId}))"
        )
        assert table == [
            {
                "cells": ["Person M2", "Person L3", cohort_name, "APAC", "inactive", "2026-03-22", "0"],
                "pair": sc.pairs["C"],
                "cohort": sc.cohort_id,
            }
        ]
        headings = await browser.evaluate(
            "[...document.querySelectorAll('#atrisk th')].map((t) => t.textContent)"
        )
        assert headings == ["Mentor", "Mentee", "Cohort", "Region", "Reasons", "Since", "Sessions"]
        status = await browser.evaluate("document.getElementById('status').textContent")
        assert status.startswith(f"Scope: {cohort_name} · ") and sc.cohort_id not in status
