"""Issue 17, HR's side of mentoring circles, in real headless Chromium against the four services as
processes: HR forms draft circles for a circles cohort, moves a member into another circle, pins that
circle, takes someone out (even though the circle then breaks a rule), re-solves (the pinned circle
keeps its members with the moved one; the one taken out stays out), publishes, and opens the page of
a published circle with its members. Every page: no axe violations, a screenshot."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.one_pair import PROGRAMME, ok

pytestmark = pytest.mark.e2e

WEEK = [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)]
POLICY = {
    "circle_min_size": 4,
    "circle_max_size": 7,
    "circle_min_juniors": 2,
    "circle_min_seniors": 2,
    "circle_junior_max_level": 4,
    "circle_senior_min_level": 8,
    "circle_min_common_minutes": 60,
}


def _people(tag: str) -> list[dict[str, Any]]:
    juniors = ["Aiko Tanaka", "Lucas Martin", "Nia Mensah", "Tom Becker", "Sofia Alves", "Ravi Iyer"]
    seniors = ["Margarethe Keller", "Carmen Ruiz", "Henrik Berg", "Yuki Sato", "Omar Haddad", "Ines Costa"]
    zones = ["Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/London"]
    skills = ["tiktok", "generative ai", "strategy", "finance", "negotiation", "design"]
    out = []
    for i, name in enumerate(juniors + seniors):
        senior = i >= len(juniors)
        out.append(
            {
                "employee_id": f"C{'S' if senior else 'J'}{i}{tag}",
                "display_name": f"{name} {tag}",
                "email": f"c{i}{tag.lower()}@bridge.example",
                "role": "either",
                "seniority_level": 9 + i % 3 if senior else 2 + i % 2,
                "department": ["Digital", "Finance", "Sales"][i % 3],
                "region": "EMEA",
                "timezone": zones[i % len(zones)],
                "languages": ["en"],
                "locale": "en",
                "availability": WEEK,
                "skills_to_share": [skills[i % 6]],
                "skills_to_learn": [skills[(i + 3) % 6]],
                "facilitator_eligible": senior,
            }
        )
    return out


def _a_move_that_keeps_the_rules(circles: list[dict[str, Any]]) -> tuple[dict[str, Any], str, str]:
    """(member, from circle id, to circle id): a member who is not the facilitator, out of a circle
    that keeps its size and generation mix without them, into one with room."""
    minimum = {"junior": POLICY["circle_min_juniors"], "senior": POLICY["circle_min_seniors"], "other": 0}
    for source in circles:
        if len(source["members"]) <= POLICY["circle_min_size"]:
            continue
        for target in circles:
            if target["id"] == source["id"] or len(target["members"]) >= POLICY["circle_max_size"]:
                continue
            for m in source["members"]:
                same = sum(1 for x in source["members"] if x["generation"] == m["generation"])
                if not m["facilitator"] and same > minimum[m["generation"]]:
                    return m, source["id"], target["id"]
    raise AssertionError(f"no move keeps the rules in {[len(c['members']) for c in circles]}")


def _someone_to_take_out(circle: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A member who is not the facilitator, preferably one without whom the circle breaks a rule
    (then True: matching refuses unless HR insists)."""
    minimum = {"junior": POLICY["circle_min_juniors"], "senior": POLICY["circle_min_seniors"], "other": 0}
    members = [x for x in circle["members"] if not x["facilitator"]]
    for x in members:
        same = sum(1 for y in circle["members"] if y["generation"] == x["generation"])
        if len(circle["members"]) <= POLICY["circle_min_size"] or same <= minimum[x["generation"]]:
            return x, True
    return members[0], False


async def _check(page: Page, name: str, screenshot: Any, assert_no_axe_violations: Any) -> None:
    await expect(page.locator("h1")).to_have_count(1)
    await assert_no_axe_violations(page)
    await screenshot(page, f"hr-circles-{name}")


def _circle(page: Page, circle_id: str) -> Any:
    return page.locator(f"section.draft-circle[data-circle-id='{circle_id}']")


async def test_hr_edits_draft_circles_re_solves_and_publishes(
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
        cohort = await ok(
            c.post(
                f"{m}/cohorts",
                json={
                    "name": f"Circles {tag}",
                    "regions": ["EMEA"],
                    "hr_contact_email": f"hr-{tag.lower()}@bridge.example",
                    "formats": ["circles"],
                    **PROGRAMME,
                    "policy": POLICY,
                },
            )
        )
        cid = cohort["id"]
        await ok(c.post(f"{m}/cohorts/{cid}/phase", json={"to_phase": "enrolling"}))
        for p in _people(tag):
            await ok(c.post(f"{m}/cohorts/{cid}/participants", json=p))
        await ok(c.post(f"{m}/cohorts/{cid}/phase", json={"to_phase": "matching"}))

    context = await browser.new_context(base_url=web_platform.base_url)
    page = await context.new_page()
    await sign_in_dev(page, as_="hr_admin")
    await page.goto(f"/hr/cohorts/{cid}/circles")
    await expect(page.locator("h1")).to_have_text("Mentoring circles")
    await _check(page, "empty", screenshot, assert_no_axe_violations)

    # Form the draft in the browser.
    await page.get_by_role("button", name="Form circles").click()
    await expect(page.get_by_text("Draft circles are ready for review.")).to_be_visible()
    async with httpx.AsyncClient(timeout=60, headers=hr) as c:
        [run] = [r for r in await ok(c.get(f"{m}/cohorts/{cid}/circle-runs")) if r["status"] == "draft"]
    assert len(run["circles"]) >= 2, run
    await expect(page.locator("section.draft-circle")).to_have_count(len(run["circles"]))
    await _check(page, "draft", screenshot, assert_no_axe_violations)

    # Move one member into another circle.
    member, source, target = _a_move_that_keeps_the_rules(run["circles"])
    name = member["display_name"]
    row = _circle(page, source).locator(f"li[data-participant-id='{member['participant_id']}']")
    await row.locator("summary").click()
    await row.get_by_label("Move to").select_option(target)
    await row.get_by_role("button", name="Move", exact=True).click()
    await expect(page.get_by_text("The member was moved.")).to_be_visible()
    await expect(_circle(page, target)).to_contain_text(name)
    await expect(_circle(page, source)).not_to_contain_text(name)

    # Pin the circle they joined.
    pin = _circle(page, target).get_by_role("button", name=re.compile(r"^Pin circle \d+$"))
    await pin.click()
    await expect(page.get_by_text("The circle is pinned.")).to_be_visible()
    await expect(_circle(page, target).locator(".badge", has_text="Pinned")).to_be_visible()
    await expect(
        _circle(page, target).get_by_role("button", name=re.compile("^Unpin circle"))
    ).to_be_visible()
    async with httpx.AsyncClient(timeout=60, headers=hr) as c:
        edited = await ok(c.get(f"{m}/circle-runs/{run['id']}"))
    [pinned] = [x for x in edited["circles"] if x["id"] == target]
    assert pinned["pinned"] and member["participant_id"] in {x["participant_id"] for x in pinned["members"]}
    pinned_members = {x["display_name"] for x in pinned["members"]}

    # Take someone out of another circle: refused while it breaks a rule, done when HR insists.
    other = next(x for x in edited["circles"] if x["id"] != target)
    out, breaks = _someone_to_take_out(other)
    row = _circle(page, other["id"]).locator(f"li[data-participant-id='{out['participant_id']}']")
    await row.locator("summary").click()
    if breaks:
        await row.get_by_role("button", name="Remove from the draft").click()
        await expect(page.get_by_role("alert")).to_contain_text("Nobody was removed.")
        await expect(_circle(page, other["id"])).to_contain_text(out["display_name"])
        row = _circle(page, other["id"]).locator(f"li[data-participant-id='{out['participant_id']}']")
        await row.locator("summary").click()
        remove_form = row.locator("form", has=page.get_by_role("button", name="Remove from the draft"))
        await remove_form.get_by_label("Even if it breaks a hard rule").check()
    await row.get_by_role("button", name="Remove from the draft").click()
    await expect(page.get_by_text("The member was taken out of the draft")).to_be_visible()
    await expect(page.locator("section.draft-circle", has_text=out["display_name"])).to_have_count(0)
    await _check(page, "edited", screenshot, assert_no_axe_violations)

    # Re-solve: the pinned circle keeps its members (with the moved one); the one taken out stays out.
    await page.get_by_role("button", name="Re-solve").click()
    await expect(page.get_by_text("The circles were re-solved.")).to_be_visible()
    kept = page.locator("section.draft-circle", has=page.locator(".badge", has_text="Pinned"))
    await expect(kept).to_have_count(1)
    for who in pinned_members:
        await expect(kept).to_contain_text(who)
    await expect(page.locator("section.draft-circle", has_text=out["display_name"])).to_have_count(0)
    await expect(page.locator("main")).to_contain_text(out["display_name"])  # listed as left out
    await _check(page, "resolved", screenshot, assert_no_axe_violations)

    # Publish: every circle is proposed; the HR page of the moved member's circle lists its members.
    await page.get_by_role("button", name="Publish: invite every circle").click()
    await expect(page.get_by_text("The circles are published: every member is invited.")).to_be_visible()
    await expect(page.locator("section.draft-circle")).to_have_count(0)
    async with httpx.AsyncClient(timeout=60, headers=hr) as c:
        published = await ok(c.get(f"{m}/cohorts/{cid}/circles"))
    [theirs] = [
        x for x in published if member["participant_id"] in {y["participant_id"] for y in x["members"]}
    ]
    assert {x["display_name"] for x in theirs["members"]} == pinned_members
    assert all(out["participant_id"] not in {y["participant_id"] for y in x["members"]} for x in published)
    await _check(page, "published", screenshot, assert_no_axe_violations)
    await page.locator(f"a[href='/hr/cohorts/{cid}/circles/{theirs['id']}']").click()
    await expect(page.locator("h1")).to_have_text("Mentoring circle")
    await expect(page.get_by_test_id("circle-status")).to_have_text("Proposed")
    rows = page.get_by_role("table").locator("tbody tr")
    await expect(rows).to_have_count(len(pinned_members))
    for who in pinned_members:
        await expect(page.get_by_role("table")).to_contain_text(who)
    await _check(page, "circle", screenshot, assert_no_axe_violations)

    # At phone width the cohort's menu wraps instead of scrolling the page sideways.
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.goto(f"/hr/cohorts/{cid}/circles")
    widths = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
    menu = page.get_by_role("navigation", name="Cohort").get_by_role("listitem")
    boxes = [await menu.nth(i).bounding_box() for i in range(await menu.count())]
    assert len({round(b["y"]) for b in boxes if b}) > 1, "the menu should wrap onto several lines"
    assert boxes[0] and boxes[1] and boxes[0]["y"] == boxes[1]["y"], "side by side, not one per line"
    await screenshot(page, "hr-circles-phone")
    await context.close()
