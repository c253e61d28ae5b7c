"""Issue 17 item 3, in real headless Chromium against the four services as processes: HR creates a
cohort with its policy weights, uploads an HRIS file and reads the row-level report, runs matching,
reviews the draft (explanations and score breakdowns; pins one pair, removes another, re-solves),
publishes and sees the proposals; the dashboard names the cohort and counts its people; an export
downloads; the notification defaults are saved through notifications' API. A regional HR person gets
a clear "not found" page for another region's cohort. Every HR link of every e-mail the run sent opens
a page for HR. Every page: no axe violations, a screenshot."""

from __future__ import annotations

import csv
import io
import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, FilePayload, Page, expect

from bridge_devstack.demo import participant_headers
from tests.e2e.one_pair import PROGRAMME, ok
from tests.e2e.waiting import eventually
from tests.web import mail_links

pytestmark = pytest.mark.e2e

COLUMNS = [
    "employee_id",
    "role",
    "display_name",
    "email",
    "seniority_level",
    "department",
    "region",
    "languages",
    "timezone",
    "availability",
    "skills_to_share",
    "skills_to_learn",
]
WEEK = "Mon 09:00-17:00;Tue 09:00-17:00;Wed 09:00-17:00"


def _hris_csv(tag: str) -> tuple[bytes, list[dict[str, str]]]:
    """Three mentors, three leaders to mentor, and one row the import must refuse (a language code
    that does not exist)."""
    people = [
        ("M1", "mentor", "Ana Lima", 3, "Digital", "data science", "negotiation"),
        ("M2", "mentor", "Chen Wei", 2, "Digital", "generative ai", "budgeting"),
        ("M3", "mentor", "Dara Okafor", 3, "Marketing", "social media", "strategy"),
        ("L1", "mentee", "Bernd Vogel", 11, "Finance", "negotiation", "data science"),
        ("L2", "mentee", "Elena Rossi", 12, "Finance", "budgeting", "generative ai"),
        ("L3", "mentee", "Farid Haddad", 10, "Legal", "strategy", "social media"),
    ]
    rows = [
        {
            "employee_id": f"H{tag}{emp}",
            "role": role,
            "display_name": name,
            "email": f"h{tag.lower()}{emp.lower()}@bridge.example",
            "seniority_level": str(level),
            "department": dept,
            "region": "EMEA",
            "languages": "en",
            "timezone": "Europe/Berlin",
            "availability": WEEK,
            "skills_to_share": share,
            "skills_to_learn": learn,
        }
        for emp, role, name, level, dept, share, learn in people
    ]
    bad = {
        **rows[0],
        "employee_id": f"H{tag}X9",
        "display_name": "Xavier Bad",
        "email": f"h{tag.lower()}x9@bridge.example",
    }
    bad["languages"] = "klingon"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows([*rows, bad])
    return out.getvalue().encode(), rows


async def _check(page: Page, name: str, screenshot: Any, assert_no_axe_violations: Any) -> None:
    await expect(page.locator("h1")).to_have_count(1)
    await assert_no_axe_violations(page)
    await screenshot(page, f"hr-{name}")


async def _cohort_id(page: Page) -> str:
    match = re.search(r"/hr/cohorts/([0-9a-f-]{36})", page.url)
    assert match, page.url
    return match.group(1)


async def _next_phase(page: Page, label: str) -> None:
    await page.get_by_role("button", name=f"Move to phase: {label}").click()
    await expect(page.get_by_test_id("phase")).to_have_text(label)


async def test_hr_runs_a_cohort_from_import_to_publish(
    web_platform: Any,
    browser: Browser,
    sign_in_dev: Any,
    screenshot: Any,
    assert_no_axe_violations: Any,
    smtp_sink: Any,
    hr_token: str,
) -> None:
    web = web_platform.base_url
    m, no = web_platform.platform.url("matching"), web_platform.platform.url("notifications")
    tag = uuid.uuid4().hex[:6].upper()
    name = f"Spring {tag}"
    context = await browser.new_context(base_url=web, accept_downloads=True)
    page = await context.new_page()
    await sign_in_dev(page, as_="hr_admin")

    # Create the cohort: regions, dates, policy weights (each with its sentence).
    await page.goto("/hr/cohorts")
    await _check(page, "cohorts", screenshot, assert_no_axe_violations)
    await page.get_by_role("link", name="Create a cohort").click()
    await expect(
        page.get_by_text("How much it counts that the two work in different departments.")
    ).to_be_visible()
    await page.get_by_role("button", name="Create the cohort").click()  # empty: field errors, nothing created
    await expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_visible()
    await _check(page, "cohort-new-errors", screenshot, assert_no_axe_violations)
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Regions").fill("EMEA")
    await page.get_by_label("HR contact e-mail").fill(f"hr-{tag.lower()}@bridge.example")
    for field, label in (
        ("enrolment_opens", "Enrolment opens"),
        ("enrolment_closes", "Enrolment closes"),
        ("matching_date", "Matching date"),
        ("programme_start", "Programme starts"),
        ("programme_end", "Programme ends"),
    ):
        await page.get_by_label(label).fill(PROGRAMME[field])
    await page.get_by_label("Different departments").fill("2")
    await page.get_by_role("button", name="Create the cohort").click()
    await expect(page.locator("h1")).to_have_text(name)
    cid = await _cohort_id(page)
    hr = {"Authorization": f"Bearer {hr_token}"}
    async with httpx.AsyncClient(timeout=30, headers=hr) as c:
        stored = await ok(c.get(f"{m}/cohorts/{cid}"))
        assert stored["policy"]["weights"]["cross_department"] == 2 and stored["regions"] == ["EMEA"]
        assert stored["programme_end"] == PROGRAMME["programme_end"]
    await _check(page, "cohort-home", screenshot, assert_no_axe_violations)
    await _next_phase(page, "Enrolling")

    # Import the HRIS file: progress, then the row-level report.
    data, rows = _hris_csv(tag)
    await page.get_by_role("navigation", name="Cohort").get_by_role("link", name="Import").click()
    await page.get_by_label("HRIS file (CSV)").set_input_files(
        files=[FilePayload(name="hris.csv", mimeType="text/csv", buffer=data)]
    )
    await _check(page, "import", screenshot, assert_no_axe_violations)
    await page.get_by_role("button", name="Upload and import").click()
    await expect(page.get_by_test_id("import-status")).to_have_text("Completed", timeout=60_000)
    await expect(page.get_by_test_id("accepted")).to_have_text("6")
    await expect(page.get_by_test_id("rejected")).to_have_text("1")
    refused = page.locator("table").filter(has_text="Reason").locator("tbody tr")
    await expect(refused).to_have_count(1)
    await expect(refused.first).to_contain_text("klingon")
    await _check(page, "import-report", screenshot, assert_no_axe_violations)

    # Matching: start a run, wait for the draft.
    await page.goto(f"/hr/cohorts/{cid}")
    await expect(page.get_by_test_id("enrolled")).to_have_text("6")
    await _next_phase(page, "Matching")
    await page.get_by_role("navigation", name="Cohort").get_by_role("link", name="Matching").click()
    await page.get_by_role("button", name="Start matching").click()
    await expect(page.get_by_test_id("run-status")).to_have_text("Draft ready for review", timeout=90_000)
    pairs = page.locator("section.pair")
    await expect(pairs).to_have_count(3)
    first = pairs.first
    await expect(first.locator("h3")).to_contain_text(" mentors ")
    await expect(first).to_contain_text("teaches")  # matching's explanation, in words
    await first.locator("summary", has_text="Score breakdown").click()
    await expect(first.get_by_role("row", name=re.compile("Different departments"))).to_be_visible()
    await _check(page, "draft", screenshot, assert_no_axe_violations)

    # Pin the first pair, remove the second, re-solve.
    pinned_title = await first.locator("h3").inner_text()
    await first.get_by_role("button", name=re.compile("^Pin")).click()
    await expect(page.get_by_text("The pair is pinned.")).to_be_visible()
    pinned = page.locator("section.pair", has=page.locator(".badge", has_text="Pinned"))
    await expect(pinned).to_have_count(1)
    await expect(pinned.locator("h3")).to_have_text(pinned_title)
    removed_title = (
        await page.locator("section.pair", has_not=page.locator(".badge")).first.locator("h3").inner_text()
    )
    await (
        page.locator("section.pair", has_not=page.locator(".badge"))
        .first.get_by_role("button", name=re.compile("^Remove"))
        .click()
    )
    await expect(page.get_by_text("The pair was removed from the draft")).to_be_visible()
    await expect(pairs).to_have_count(2)
    await page.get_by_role("button", name=re.compile("^Re-solve")).click()
    await expect(page.get_by_test_id("run-status")).to_have_text("Draft ready for review", timeout=90_000)
    await expect(pinned.locator("h3")).to_have_text(pinned_title)
    titles = await pairs.locator("h3").all_inner_texts()
    assert removed_title not in titles, titles
    await _check(page, "draft-resolved", screenshot, assert_no_axe_violations)

    # Publish: the proposals are there, named.
    await page.get_by_role("button", name="Publish: send every pair its proposal").click()
    await expect(page.locator("h1")).to_have_text("Proposals and pairs")
    proposals = page.get_by_test_id("proposals").locator("tbody tr")
    await expect(proposals).to_have_count(len(titles))
    await expect(proposals.first).to_contain_text("Waiting for answers")
    mentor_of_pinned = pinned_title.split(" mentors ")[0]
    await expect(page.get_by_test_id("proposals")).to_contain_text(mentor_of_pinned)
    await _check(page, "proposals", screenshot, assert_no_axe_violations)

    # The dashboard: the cohort by name, its people counted (reporting reads the events).
    async def dashboard_counts() -> bool:
        await page.goto(f"/hr/cohorts/{cid}/dashboard")
        return "6 Enrolled" in " ".join((await page.get_by_test_id("kpis").inner_text()).split())

    await eventually(dashboard_counts, "the dashboard to count the six enrolled people", timeout=60)
    await expect(page.locator("h1")).to_have_text(f"Dashboard: {name}")
    assert cid not in await page.locator("main").inner_text()
    await _check(page, "dashboard", screenshot, assert_no_axe_violations)

    # An export downloads, with the cohort's people in it.
    async def exported() -> str | None:
        await page.goto(f"/hr/cohorts/{cid}/dashboard")
        async with page.expect_download() as info:
            await (
                page.get_by_role("listitem")
                .filter(has_text="Participants")
                .get_by_role("link", name="CSV")
                .click()
            )
        download = await info.value
        assert download.suggested_filename == "bridge-participants.csv"
        text = (await download.path()).read_text(encoding="utf-8")
        return text if rows[0]["employee_id"] in text else None

    text = await eventually(exported, "the participants export to hold the cohort's people", timeout=60)
    assert all(r["employee_id"] in text for r in rows)

    # Notification defaults: saved through notifications' API.
    await page.goto(f"/hr/cohorts/{cid}/notification-defaults")
    await page.get_by_label("Quiet hours begin").fill("22:00")
    await page.get_by_label("Quiet hours end").fill("07:00")
    await page.get_by_role("button", name="Save the defaults").click()
    await expect(page.get_by_text("The notification defaults were saved.")).to_be_visible()
    await _check(page, "notification-defaults", screenshot, assert_no_axe_violations)
    async with httpx.AsyncClient(timeout=30, headers=hr) as c:
        saved = await ok(c.get(f"{no}/cohorts/{cid}/notification-defaults"))
        assert saved["quiet_start"].startswith("22:00") and saved["quiet_end"].startswith("07:00"), saved

        # A participant declines: HR is told by e-mail; every HR link of every e-mail opens a page.
        [proposal, *_] = await ok(c.get(f"{m}/cohorts/{cid}/proposals"))
        mentor = next(
            p for p in await ok(c.get(f"{m}/cohorts/{cid}/participants")) if p["id"] == proposal["mentor_id"]
        )
        await ok(
            c.post(
                f"{m}/proposals/{proposal['id']}/decline",
                json={"reason": "not this term"},
                headers=participant_headers(mentor["employee_id"]),
            )
        )

        async def hr_links() -> list[mail_links.MailLink]:
            found = await mail_links.collect(
                c,
                sink_url=smtp_sink.web_url,
                notifications_url=no,
                hr_headers=hr,
                base_url=web,
                cohort_ids=[cid],
            )
            return mail_links.hr_links(found)

        links = await eventually(hr_links, "HR's e-mail about the decline", timeout=60)
    paths = sorted({link.path for link in links})
    assert f"/hr/cohorts/{cid}" in paths, paths
    # The digests' links (weekly, sent on its schedule) are opened too: same patterns, this cohort.
    paths += [f"/hr/cohorts/{cid}/dashboard", f"/hr/deliveries?cohort_id={cid}"]
    for path in paths:
        response = await page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        await expect(page.locator("h1")).to_have_count(1)
        assert await page.locator(".error-page").count() == 0, path
    await page.goto(f"/hr/deliveries?cohort_id={cid}")
    await expect(page.get_by_test_id("deliveries")).to_contain_text(mentor["email"])
    await _check(page, "deliveries", screenshot, assert_no_axe_violations)
    await context.close()


async def test_regional_hr_sees_only_their_regions_cohorts(
    web_platform: Any,
    browser: Browser,
    sign_in_dev: Any,
    screenshot: Any,
    assert_no_axe_violations: Any,
    hr_token: str,
) -> None:
    web = web_platform.base_url
    m = web_platform.platform.url("matching")
    tag = uuid.uuid4().hex[:6].upper()
    hr = {"Authorization": f"Bearer {hr_token}"}
    async with httpx.AsyncClient(timeout=30, headers=hr) as c:
        body = {"hr_contact_email": f"hr-{tag.lower()}@bridge.example", **PROGRAMME}
        apac = await ok(
            c.post(f"{m}/cohorts", json={**body, "name": f"APAC only {tag}", "regions": ["APAC"]})
        )
        emea = await ok(
            c.post(f"{m}/cohorts", json={**body, "name": f"EMEA only {tag}", "regions": ["EMEA"]})
        )
    context = await browser.new_context(base_url=web)
    page = await context.new_page()
    await sign_in_dev(page, as_="hr_regional", region="EMEA")
    await page.goto("/hr/cohorts")
    listing = page.locator("main")
    await expect(listing).to_contain_text(emea["name"])
    await expect(listing).not_to_contain_text(apac["name"])
    for path in (
        f"/hr/cohorts/{apac['id']}",
        f"/hr/cohorts/{apac['id']}/dashboard",
        f"/hr/cohorts/{apac['id']}/matching",
    ):
        response = await page.goto(path)
        assert response is not None and response.status == 404, path
        await expect(page.locator("h1")).to_have_text("Not found")
        await expect(page.get_by_role("alert")).to_contain_text("outside the regions you manage")
        await expect(page.locator("main")).not_to_contain_text(apac["name"])
    await _check(page, "regional-not-found", screenshot, assert_no_axe_violations)
    response = await page.goto(f"/hr/cohorts/{emea['id']}")
    assert response is not None and response.status == 200
    await expect(page.locator("h1")).to_have_text(emea["name"])
    await context.close()
