"""Issue 17, mentoring circles in real headless Chromium against the four services as processes:
HR's circle is published through matching's API; each member opens the invitation link of their real
e-mail (the GET only asks to confirm: matching still has them invited) and accepts; the circle page;
the facilitator drafts the agreement and the others confirm it from their e-mail; a member schedules a
session and the facilitator picks its activity on the activity page; the facilitator records a session
that has started as held, and logs one that was never scheduled, with attendance, the activity's
ideas and who taught what to whom (a refused row shown on the page first). Every page: one h1, no axe
violations, a screenshot; every change checked through the services' APIs."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from bridge_devstack.demo import participant_headers
from tests.e2e.one_pair import ok
from tests.e2e.waiting import eventually
from tests.web import mail_links
from tests.web.walks import published_circle, sessions_circle

pytestmark = pytest.mark.e2e


async def _link(c: httpx.AsyncClient, sink: str, address: str, web: str, contains: str) -> str:
    async def found() -> str | None:
        for message in await mail_links.sink_messages(c, sink):
            if message["to"] != address:
                continue
            for url in mail_links.urls_in(message, web):
                if contains in url:
                    return mail_links.path_of(url)
        return None

    return await eventually(found, f"a link with {contains!r} in mail to {address}", timeout=90)


async def _check(page: Page, name: str, screenshot: Any, assert_no_axe_violations: Any) -> None:
    await expect(page.locator("h1")).to_have_count(1)
    await assert_no_axe_violations(page)
    await screenshot(page, name)


async def _zone(page: Page) -> ZoneInfo:
    """The zone a form's local times are read in, as the page says ("In your time zone, X.")."""
    help_text = await page.locator("#starts_at-help").text_content() or ""
    match = re.search(r"([A-Za-z_]+(?:/[A-Za-z_+-]+)+|UTC)", help_text)
    assert match, help_text
    return ZoneInfo(match.group(1))


async def test_members_accept_agree_meet_and_the_facilitator_records_what_happened(
    web_platform: Any,
    browser: Browser,
    sign_in_dev: Any,
    screenshot: Any,
    assert_no_axe_violations: Any,
    smtp_sink: Any,
    hr_token: str,
) -> None:
    web = web_platform.base_url
    m, se = (web_platform.platform.url(s) for s in ("matching", "sessions"))
    sink = smtp_sink.web_url
    tag = uuid.uuid4().hex[:6].upper()
    hr = {"Authorization": f"Bearer {hr_token}"}
    contexts: list[BrowserContext] = []
    async with httpx.AsyncClient(timeout=60, headers=hr) as c:
        walk = await published_circle(c, m, tag)
        cid = walk.circle_id
        pages: dict[str, Page] = {}
        for p in walk.people:
            context = await browser.new_context(base_url=web)
            contexts.append(context)
            pages[p["employee_id"]] = await context.new_page()
            await sign_in_dev(pages[p["employee_id"]], as_=p["employee_id"])
        j1, j2, s1, s2 = walk.people
        fp = pages[s1["employee_id"]]  # the facilitator's browser

        # Each member opens the accept link of their circle_proposed e-mail: it only asks to confirm.
        for n, p in enumerate(walk.people):
            page = pages[p["employee_id"]]
            accept = await _link(c, sink, p["email"], web, f"/circles/{cid}/invitation?response=accept")
            await page.goto(accept)
            confirm = page.get_by_role("button", name="Confirm: join the circle")
            await expect(confirm).to_be_visible()
            if n == 0:
                await expect(page.get_by_text("Margarethe Keller (facilitator)")).to_be_visible()
                await _check(page, "invitation-link", screenshot, assert_no_axe_violations)
            invitation = await ok(c.get(f"{m}/circles/{cid}"))
            [me] = [x for x in invitation["members"] if str(x["participant_id"]) == walk.pid(p)]
            assert me["status"] == "invited", me
            await confirm.click()
            await expect(page.locator(".flash--success")).to_be_visible()
            invitation = await ok(c.get(f"{m}/circles/{cid}"))
            [me] = [x for x in invitation["members"] if str(x["participant_id"]) == walk.pid(p)]
            assert me["status"] == "accepted", me
        assert (await ok(c.get(f"{m}/circles/{cid}")))["status"] == "formed"
        await _check(fp, "invitation-accepted", screenshot, assert_no_axe_violations)

        # sessions opens the circle: its page.
        await sessions_circle(c, se, walk)
        await fp.goto(f"/circles/{cid}")
        await expect(fp.get_by_role("heading", name="Members")).to_be_visible()
        for p in walk.people:
            await expect(fp.get_by_text(p["display_name"], exact=False).first).to_be_visible()
        await _check(fp, "circle", screenshot, assert_no_axe_violations)

        # The facilitator drafts the agreement; the three others confirm it from their e-mail.
        end = (datetime.now(UTC).date() + timedelta(days=90)).isoformat()
        await fp.goto(f"/circles/{cid}/agreement")
        await fp.get_by_label("Shared goals (one a line)").fill("Learn from each other\nOne idea a month")
        await fp.get_by_label("Meet every how many days").fill("14")
        await fp.get_by_label("Ground rules (one a line)").fill("Everyone speaks")
        await fp.get_by_label("End date").fill(end)
        for p in walk.people:
            await fp.get_by_label(p["display_name"], exact=True).fill(f"Goal of {p['display_name']}")
        await _check(fp, "circle-agreement-draft", screenshot, assert_no_axe_violations)
        await fp.get_by_role("button", name="Save the draft and ask the others to confirm").click()
        await expect(fp.locator(".flash--success")).to_be_visible()
        for p in (j1, j2, s2):
            page = pages[p["employee_id"]]
            await page.goto(await _link(c, sink, p["email"], web, f"/circles/{cid}/agreement"))
            await page.get_by_role("button", name="Confirm version 1").click()
            await expect(page.locator(".flash--success")).to_be_visible()
        await _check(
            pages[s2["employee_id"]], "circle-agreement-confirmed", screenshot, assert_no_axe_violations
        )
        view = await ok(
            c.get(f"{se}/circles/{cid}/agreement", headers=participant_headers(j1["employee_id"]))
        )
        assert view["active"] and view["active"]["version"] == 1 and not view["pending"], view
        assert view["active"]["shared_goals"] == ["Learn from each other", "One idea a month"], view
        assert view["active"]["rules_of_engagement"] == "Everyone speaks", view
        assert (await ok(c.get(f"{se}/circles/{cid}")))["status"] == "active"

        # A junior member schedules a session from the circle page, in their own zone.
        jp = pages[j2["employee_id"]]
        await jp.goto(f"/circles/{cid}")
        zone = await _zone(jp)
        day = (datetime.now(zone) + timedelta(days=6)).date()
        await jp.get_by_label("Starts at").fill(f"{day.isoformat()}T18:30")
        await jp.get_by_label("Duration (minutes)").fill("90")
        await jp.get_by_label("Where (room, address or video link)").fill("Room Ada")
        await jp.get_by_role("button", name="Schedule and send the invitation").click()
        await expect(jp.locator(".flash--success")).to_be_visible()
        await _check(jp, "circle-session-scheduled", screenshot, assert_no_axe_violations)
        sessions = await ok(
            c.get(f"{se}/circles/{cid}/sessions", headers=participant_headers(j2["employee_id"]))
        )
        [scheduled] = [s for s in sessions if s["status"] == "scheduled"]
        wanted = datetime.fromisoformat(f"{day.isoformat()}T18:30").replace(tzinfo=zone)
        assert datetime.fromisoformat(scheduled["starts_at"]) == wanted, scheduled
        assert scheduled["duration_minutes"] == 90 and scheduled["location"] == "Room Ada", scheduled

        # The facilitator opens it from the invitation e-mail and picks its activity.
        sid = scheduled["id"]
        await fp.goto(await _link(c, sink, s1["email"], web, f"/circles/{cid}/sessions/{sid}"))
        await _check(fp, "circle-session", screenshot, assert_no_axe_violations)
        await fp.get_by_role("link", name="About the activity").click()
        await expect(fp).to_have_url(f"{web}/circles/{cid}/sessions/{sid}/activity")
        await fp.get_by_label("Activity", exact=True).select_option("reverse-demo")
        await fp.get_by_role("button", name="Choose it").click()
        await expect(fp.locator(".flash--success")).to_be_visible()
        await _check(fp, "circle-activity", screenshot, assert_no_axe_violations)
        picked = await ok(
            c.get(f"{se}/circles/{cid}/sessions/{sid}", headers=participant_headers(s1["employee_id"]))
        )
        assert picked["activity"]["id"] == "reverse-demo", picked
        # A member who does not facilitate sees the activity but cannot pick it.
        await jp.goto(f"/circles/{cid}/sessions/{sid}/activity")
        await expect(jp.get_by_role("button", name="Choose it")).to_have_count(0)

        # A session that starts in a few seconds (through the API: the form's minutes are too coarse)
        # is recorded as held once it has started.
        soon = await ok(
            c.post(
                f"{se}/circles/{cid}/sessions",
                json={
                    "starts_at": (datetime.now(UTC) + timedelta(seconds=4)).isoformat(),
                    "duration_minutes": 60,
                },
                headers=participant_headers(s1["employee_id"]),
            ),
            201,
        )
        await fp.goto(f"/circles/{cid}/sessions/{soon['id']}/held")
        await expect(fp.get_by_text("You can record the session once it has started.")).to_be_visible()
        await asyncio.sleep(5)
        await fp.goto(f"/circles/{cid}/sessions/{soon['id']}")
        await fp.get_by_role("link", name="Record this session as held").click()
        await expect(fp).to_have_url(f"{web}/circles/{cid}/sessions/{soon['id']}/held")
        await fp.get_by_label("Carmen Ruiz", exact=True).uncheck()  # stayed away
        await fp.get_by_label("Activity", exact=True).select_option("promote-everyday-product")
        await fp.get_by_label("Ideas Aiko Tanaka brought").fill("A TikTok ad for the product")
        await fp.get_by_label("Ideas Lucas Martin brought").fill("An AI campaign that follows the weather")
        await fp.get_by_label("Ideas Margarethe Keller brought").fill("A stand at the market")
        await fp.get_by_label("Who taught (row 1)", exact=True).select_option(walk.pid(j1))
        await fp.get_by_label("Who learnt (row 1)", exact=True).select_option(walk.pid(s1))
        await fp.get_by_label("What (row 1)", exact=True).fill("short-form video")
        # Row 2 names the same person twice: refused, and shown beside the learning rows.
        await fp.get_by_label("Who taught (row 2)", exact=True).select_option(walk.pid(s1))
        await fp.get_by_label("Who learnt (row 2)", exact=True).select_option(walk.pid(s1))
        await fp.get_by_label("What (row 2)", exact=True).fill("pricing strategy")
        await _check(fp, "circle-held-form", screenshot, assert_no_axe_violations)
        await fp.get_by_role("button", name="Record the session as held").click()
        await expect(fp.locator("#learning-error")).to_be_visible()
        await expect(fp.locator(".problem-summary")).to_be_visible()
        await expect(fp.get_by_label("What (row 2)", exact=True)).to_have_value("pricing strategy")
        await _check(fp, "circle-held-refused", screenshot, assert_no_axe_violations)
        still = await ok(
            c.get(f"{se}/circles/{cid}/sessions/{soon['id']}", headers=participant_headers(s1["employee_id"]))
        )
        assert still["status"] == "scheduled", still
        await fp.get_by_label("Who learnt (row 2)", exact=True).select_option(walk.pid(j2))
        await fp.get_by_role("button", name="Record the session as held").click()
        await expect(fp.locator(".flash--success")).to_be_visible()
        await expect(
            fp.get_by_text("Margarethe Keller taught Lucas Martin: pricing strategy")
        ).to_be_visible()
        await _check(fp, "circle-session-held", screenshot, assert_no_axe_violations)
        held = await ok(
            c.get(f"{se}/circles/{cid}/sessions/{soon['id']}", headers=participant_headers(s1["employee_id"]))
        )
        assert held["status"] == "held" and held["activity"]["id"] == "promote-everyday-product", held
        assert set(held["attended_ids"]) == {walk.pid(j1), walk.pid(j2), walk.pid(s1)}, held
        assert held["absent_ids"] == [walk.pid(s2)], held
        assert sorted((i["participant_id"], i["text"]) for i in held["ideas"]) == sorted(
            [
                (walk.pid(j1), "A TikTok ad for the product"),
                (walk.pid(j2), "An AI campaign that follows the weather"),
                (walk.pid(s1), "A stand at the market"),
            ]
        )
        assert sorted((f["from_id"], f["to_id"], f["topic"]) for f in held["learning"]) == sorted(
            [
                (walk.pid(j1), walk.pid(s1), "short-form video"),
                (walk.pid(s1), walk.pid(j2), "pricing strategy"),
            ]
        )
        assert {(f["from_generation"], f["to_generation"]) for f in held["learning"]} == {
            ("junior", "senior"),
            ("senior", "junior"),
        }, held

        # A session that took place without being scheduled, logged by the facilitator.
        await fp.goto(f"/circles/{cid}")
        await fp.get_by_role("link", name="Record a session that already took place").click()
        await expect(fp).to_have_url(f"{web}/circles/{cid}/sessions/log")
        zone = await _zone(fp)
        yesterday = (datetime.now(zone) - timedelta(days=1)).date()
        await fp.get_by_label("When it started").fill(f"{yesterday.isoformat()}T17:00")
        await fp.get_by_label("How long it lasted (minutes)").fill("45")
        await fp.get_by_label("Aiko Tanaka", exact=True).uncheck()
        await fp.get_by_label("Ideas Carmen Ruiz brought").fill("A negotiation role-play")
        await fp.get_by_label("Who taught (row 1)", exact=True).select_option(walk.pid(s2))
        await fp.get_by_label("Who learnt (row 1)", exact=True).select_option(walk.pid(j2))
        await fp.get_by_label("What (row 1)", exact=True).fill("negotiation")
        await _check(fp, "circle-log-form", screenshot, assert_no_axe_violations)
        await fp.get_by_role("button", name="Record the session as held").click()
        await expect(fp.locator(".flash--success")).to_be_visible()
        await expect(fp.get_by_text("Carmen Ruiz taught Lucas Martin: negotiation")).to_be_visible()
        await _check(fp, "circle-session-logged", screenshot, assert_no_axe_violations)
        sessions = await ok(
            c.get(f"{se}/circles/{cid}/sessions", headers=participant_headers(s1["employee_id"]))
        )
        [logged] = [s for s in sessions if s["logged"]]
        assert logged["status"] == "held" and logged["duration_minutes"] == 45, logged
        assert datetime.fromisoformat(logged["starts_at"]) == datetime.fromisoformat(
            f"{yesterday.isoformat()}T17:00"
        ).replace(tzinfo=zone), logged
        assert walk.pid(j1) in logged["absent_ids"], logged
        assert [(f["from_id"], f["to_id"], f["topic"]) for f in logged["learning"]] == [
            (walk.pid(s2), walk.pid(j2), "negotiation")
        ], logged

        # A member who does not facilitate cannot record: the page says so and offers no form.
        await jp.goto(f"/circles/{cid}/sessions/log")
        await expect(jp.get_by_text("Only the circle's facilitator records its sessions.")).to_be_visible()
        await expect(jp.get_by_role("button", name="Record the session as held")).to_have_count(0)
        await _check(jp, "circle-log-not-facilitator", screenshot, assert_no_axe_violations)
    for context in contexts:
        await context.close()
