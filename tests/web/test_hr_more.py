"""HR paths test_hr_cohort does not walk, in real headless Chromium against the four services as
processes: swapping the mentees of two draft pairs (both new pairs pinned, as matching keeps them);
the XLSX export downloads through the web app and opens with openpyxl, its date columns real dates;
the delivery log's status filter shows only deliveries of the chosen status."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from datetime import datetime
from typing import Any

import httpx
import openpyxl
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.one_pair import PROGRAMME, ok
from tests.e2e.waiting import eventually

pytestmark = pytest.mark.e2e

WEEK = [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(5)]


def _person(emp: str, name: str, role: str, level: int, share: str, learn: str) -> dict[str, Any]:
    return {
        "employee_id": emp,
        "display_name": name,
        "email": f"{emp.lower()}@bridge.example",
        "role": role,
        "seniority_level": level,
        "department": "Digital" if role == "mentor" else "Finance",
        "region": "EMEA",
        "timezone": "Europe/Berlin",
        "languages": ["en"],
        "locale": "en",
        "availability": WEEK,
        "skills_to_share": [share],
        "skills_to_learn": [learn],
    }


async def _draft(c: httpx.AsyncClient, m: str, tag: str) -> tuple[str, dict[str, Any]]:
    """A cohort of two mentors and two mentees, matched into a draft of two pairs."""
    cohort = await ok(
        c.post(
            f"{m}/cohorts",
            json={
                "name": f"More {tag}",
                "regions": ["EMEA"],
                "hr_contact_email": f"hr-{tag.lower()}@bridge.example",
                **PROGRAMME,
            },
        )
    )
    cid = cohort["id"]
    await ok(c.post(f"{m}/cohorts/{cid}/phase", json={"to_phase": "enrolling"}))
    for p in (
        _person(f"XM1{tag}", f"Ana Lima {tag}", "mentor", 3, "data science", "negotiation"),
        _person(f"XM2{tag}", f"Chen Wei {tag}", "mentor", 2, "generative ai", "budgeting"),
        _person(f"XL1{tag}", f"Bernd Vogel {tag}", "mentee", 11, "negotiation", "data science"),
        _person(f"XL2{tag}", f"Elena Rossi {tag}", "mentee", 12, "budgeting", "generative ai"),
    ):
        await ok(c.post(f"{m}/cohorts/{cid}/participants", json=p))
    await ok(c.post(f"{m}/cohorts/{cid}/phase", json={"to_phase": "matching"}))
    run = await ok(c.post(f"{m}/cohorts/{cid}/matching-runs", params={"wait": "true"}), (201, 202))
    async with asyncio.timeout(120):
        while run["status"] in ("queued", "running"):
            await asyncio.sleep(0.25)
            run = await ok(c.get(f"{m}/matching-runs/{run['id']}"))
    assert run["status"] == "draft" and len(run["pairs"]) == 2, run
    return cid, run


async def _check(page: Page, name: str, screenshot: Any, assert_no_axe_violations: Any) -> None:
    await expect(page.locator("h1")).to_have_count(1)
    await assert_no_axe_violations(page)
    await screenshot(page, f"hr-more-{name}")


async def test_swap_export_xlsx_and_filter_deliveries(
    web_platform: Any,
    browser: Browser,
    sign_in_dev: Any,
    screenshot: Any,
    assert_no_axe_violations: Any,
    hr_token: str,
) -> None:
    m = web_platform.platform.url("matching")
    tag = uuid.uuid4().hex[:5].upper()
    hr = {"Authorization": f"Bearer {hr_token}"}
    async with httpx.AsyncClient(timeout=60, headers=hr) as c:
        cid, run = await _draft(c, m, tag)
    before = {p["mentor_id"]: p["mentee_id"] for p in run["pairs"]}
    context = await browser.new_context(base_url=web_platform.base_url, accept_downloads=True)
    page = await context.new_page()
    await sign_in_dev(page, as_="hr_admin")

    # Swap the mentees of the two pairs (the form preselects the first and the second pair).
    await page.goto(f"/hr/cohorts/{cid}/matching")
    await expect(page.locator("section.pair")).to_have_count(2)
    await expect(page.get_by_label("First pair")).to_have_value(run["pairs"][0]["id"])
    await expect(page.get_by_label("Second pair")).to_have_value(run["pairs"][1]["id"])
    await page.get_by_role("button", name="Swap", exact=True).click()
    await expect(page.get_by_text("The mentees were swapped; both new pairs are pinned.")).to_be_visible()
    await expect(page.locator("section.pair", has=page.locator(".badge", has_text="Pinned"))).to_have_count(2)
    async with httpx.AsyncClient(timeout=60, headers=hr) as c:
        swapped = await ok(c.get(f"{m}/matching-runs/{run['id']}"))
    after = {p["mentor_id"]: p["mentee_id"] for p in swapped["pairs"]}
    assert set(after) == set(before) and all(after[mentor] != before[mentor] for mentor in before), after
    assert all(p["pinned"] for p in swapped["pairs"])
    await _check(page, "swapped", screenshot, assert_no_axe_violations)

    # Swapping a pair with itself is refused with matching's reason, and nothing changes.
    await page.get_by_label("Second pair").select_option(swapped["pairs"][0]["id"])
    await page.get_by_label("First pair").select_option(swapped["pairs"][0]["id"])
    await page.get_by_role("button", name="Swap", exact=True).click()
    await expect(page.get_by_role("alert")).to_contain_text("The mentees were not swapped.")
    await expect(page.get_by_role("alert")).to_contain_text("must differ")

    # Publish: the proposals go out by e-mail (the delivery log fills).
    await page.get_by_role("button", name="Publish: send every pair its proposal").click()
    await expect(page.locator("h1")).to_have_text("Proposals and pairs")

    # The participants export as XLSX, through the web app: a real workbook with real dates.
    async def workbook() -> Any:
        await page.goto(f"/hr/cohorts/{cid}/dashboard")
        async with page.expect_download() as info:
            await (
                page.get_by_role("listitem")
                .filter(has_text="Participants")
                .get_by_role("link", name="XLSX")
                .click()
            )
        download = await info.value
        assert download.suggested_filename == "bridge-participants.xlsx"
        data = (await download.path()).read_bytes()
        assert data[:2] == b"PK", data[:20]  # a zip, as every .xlsx is
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        rows = list(book.worksheets[0].iter_rows(values_only=True))
        return rows if any(f"XM1{tag}" in str(v) for row in rows for v in row) else None

    rows = await eventually(workbook, "the participants export to hold the cohort's people", timeout=60)
    header, body = rows[0], rows[1:]
    assert len([r for r in body if any(str(v).endswith(tag) for v in r)]) == 4, rows
    dates = {header[i] for row in body for i, v in enumerate(row) if isinstance(v, datetime)}
    assert dates, f"no date cell in {header}"
    assert all(not isinstance(v, str) or not re.fullmatch(r"\d{4}-\d\d-\d\d.*", v) for r in body for v in r)

    # The delivery log: the status filter keeps only that status.
    async def sent_rows() -> int | None:
        await page.goto(f"/hr/deliveries?cohort_id={cid}&status=sent")
        table = page.get_by_test_id("deliveries")
        return await table.locator("tbody tr").count() if await table.count() else None

    count = await eventually(sent_rows, "the proposals' e-mails to be sent", timeout=60)
    assert count is not None and count >= 4
    await expect(page.get_by_label("Status")).to_have_value("sent")
    statuses = await page.get_by_test_id("deliveries").locator("tbody tr td:nth-child(5)").all_inner_texts()
    assert set(statuses) == {"Sent"}, statuses
    await _check(page, "deliveries-sent", screenshot, assert_no_axe_violations)
    await page.get_by_label("Status").select_option("failed")
    await page.get_by_role("button", name="Show").click()
    await expect(page).to_have_url(re.compile(r"status=failed"))
    await expect(page.get_by_label("Status")).to_have_value("failed")
    await expect(page.get_by_test_id("deliveries")).to_have_count(0)
    await expect(page.get_by_text("Nothing was sent yet.")).to_be_visible()
    await page.get_by_label("Status").select_option("")
    await page.get_by_role("button", name="Show").click()
    await expect(page.get_by_label("Status")).to_have_value("")
    everything = await page.get_by_test_id("deliveries").locator("tbody tr").count()
    assert everything >= count
    await context.close()
