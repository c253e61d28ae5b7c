"""Issue 17 item 4, in real headless Chromium against the four services as processes: two participants
open their e-mails' links and accept (a GET of the accept link changes nothing until the form is
posted); the leader drafts the agreement (a refused date shows beside its field) and the reverse
mentor confirms it from the e-mail; the mentor schedules a session, the leader logs one as held with
topics both ways; the pulse and the mid-point survey are answered; an inbox item is read; quiet hours
are set and notifications' API shows them. Every page: no axe violations, a screenshot. (Every link of
every e-mail template is followed in test_every_email_link.py.)"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from bridge_devstack.demo import participant_headers
from tests.e2e.one_pair import PROGRAMME, ok
from tests.e2e.waiting import eventually
from tests.web import mail_links

pytestmark = pytest.mark.e2e


def _person(emp: str, name: str, role: str, level: int, region: str, tz: str, **kw: Any) -> dict[str, Any]:
    return {
        "employee_id": emp,
        "display_name": name,
        "email": f"{emp.lower()}@bridge.example",
        "role": role,
        "seniority_level": level,
        "department": kw.get("department", "Digital"),
        "region": region,
        "timezone": tz,
        "languages": ["en"],
        "locale": kw.get("locale", "en"),
        "availability": [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)],
        "skills_to_share": kw["share"],
        "skills_to_learn": kw["learn"],
    }


async def _published_proposal(
    c: httpx.AsyncClient, m: str, people: list[dict[str, Any]], tag: str
) -> tuple[str, dict[str, Any]]:
    body = {
        "name": f"Web {tag}",
        "regions": ["EMEA"],
        "hr_contact_email": f"hr-{tag.lower()}@bridge.example",
        **PROGRAMME,
    }
    cid = (await ok(c.post(f"{m}/cohorts", json=body)))["id"]
    await ok(c.post(f"{m}/cohorts/{cid}/phase", json={"to_phase": "enrolling"}))
    for p in people:
        await ok(c.post(f"{m}/cohorts/{cid}/participants", json=p))
    await ok(c.post(f"{m}/cohorts/{cid}/phase", json={"to_phase": "matching"}))
    run = await ok(c.post(f"{m}/cohorts/{cid}/matching-runs", params={"wait": "true"}), (201, 202))
    async with asyncio.timeout(120):
        while run["status"] in ("queued", "running"):
            await asyncio.sleep(0.25)
            run = await ok(c.get(f"{m}/matching-runs/{run['id']}"))
    assert run["status"] == "draft" and len(run["pairs"]) == 1, run
    await ok(c.post(f"{m}/matching-runs/{run['id']}/publish"))
    [proposal] = await ok(c.get(f"{m}/cohorts/{cid}/proposals"))
    return cid, proposal


async def _mail_to(
    c: httpx.AsyncClient, sink: str, address: str, subject_has: str | None = None, count: int = 1
) -> list[dict[str, Any]]:
    async def found() -> list[dict[str, Any]] | None:
        got = [
            m
            for m in await mail_links.sink_messages(c, sink)
            if m["to"] == address and (subject_has is None or subject_has in m["subject"])
        ]
        return got if len(got) >= count else None

    return await eventually(found, f"mail to {address}", timeout=90)


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


async def test_two_participants_act_on_their_emails_from_proposal_to_survey(
    web_platform: Any,
    browser: Browser,
    sign_in_dev: Any,
    screenshot: Any,
    assert_no_axe_violations: Any,
    smtp_sink: Any,
    hr_token: str,
) -> None:
    web = web_platform.base_url
    m, se, no = (web_platform.platform.url(s) for s in ("matching", "sessions", "notifications"))
    sink = smtp_sink.web_url
    tag = uuid.uuid4().hex[:6].upper()
    mentor = _person(
        f"WM{tag}",
        "Ana Lima",
        "mentor",
        3,
        "EMEA",
        "Europe/Lisbon",
        share=["data science"],
        learn=["negotiation"],
    )
    leader = _person(
        f"WL{tag}",
        "Bernd Vogel",
        "mentee",
        11,
        "EMEA",
        "Europe/Berlin",
        share=["negotiation"],
        learn=["data science"],
        department="Finance",
    )
    hr = {"Authorization": f"Bearer {hr_token}"}
    async with httpx.AsyncClient(timeout=30, headers=hr) as c:
        cid, proposal = await _published_proposal(c, m, [mentor, leader], tag)
        pid = proposal["id"]
        accept_mentor = await _link(c, sink, mentor["email"], web, f"/proposals/{pid}?response=accept")
        accept_leader = await _link(c, sink, leader["email"], web, f"/proposals/{pid}?response=accept")

        as_mentor = await browser.new_context(base_url=web)
        as_leader = await browser.new_context(base_url=web)
        mp, lp = await as_mentor.new_page(), await as_leader.new_page()
        await sign_in_dev(mp, as_=mentor["employee_id"])
        await sign_in_dev(lp, as_=leader["employee_id"])

        # A GET of the e-mail's accept link only asks to confirm.
        await mp.goto(accept_mentor)
        await expect(mp.get_by_role("button", name="Confirm: accept this proposal")).to_be_visible()
        await expect(mp.get_by_text(f"{mentor['display_name']} (mentor) teaches")).to_be_visible()
        await _check(mp, "proposal-accept-link", screenshot, assert_no_axe_violations)
        still = await ok(c.get(f"{m}/proposals/{pid}"))
        assert still["status"] == "pending" and still["mentor_response"] is None, still
        await mp.get_by_role("button", name="Confirm: accept this proposal").click()
        await expect(mp.locator(".flash--success")).to_be_visible()
        await _check(mp, "proposal-accepted", screenshot, assert_no_axe_violations)
        assert (await ok(c.get(f"{m}/proposals/{pid}")))["mentor_response"] == "accepted"

        await lp.goto(accept_leader)
        await lp.get_by_role("button", name="Confirm: accept this proposal").click()
        await expect(lp.locator(".flash--success")).to_be_visible()
        await expect(lp.get_by_role("link", name="Go to your relationship")).to_be_visible()

        async def relationship() -> Any:
            rels = (await c.get(f"{se}/relationships", params={"cohort_id": cid})).json()
            return rels[0] if rels else None

        rel = await eventually(relationship, "sessions to open the relationship")
        rid = rel["id"]
        # pair_formed's link (/pairs/<id>) lands on the relationship.
        await lp.get_by_role("link", name="Go to your relationship").click()
        await expect(lp).to_have_url(f"{web}/relationships/{rid}")
        await _check(lp, "relationship-forming", screenshot, assert_no_axe_violations)

        # The leader drafts the agreement; an end before the start is shown beside the end date.
        today = datetime.now(UTC).date()
        await lp.goto(f"/relationships/{rid}/agreement")
        await lp.get_by_label("Learning goals").first.fill("Negotiation with suppliers")
        await lp.get_by_label("Success measures").first.fill("Lead one negotiation")
        await lp.get_by_label("Learning goals").nth(1).fill("Data science basics\nReading dashboards")
        await lp.get_by_label("Success measures").nth(1).fill("Build one dashboard")
        await lp.get_by_label("Meet every how many days").fill("14")
        await lp.get_by_label("Start date").fill((today - timedelta(days=60)).isoformat())
        await lp.get_by_label("End date").fill((today - timedelta(days=70)).isoformat())
        await lp.get_by_role("button", name="Save the draft and ask my partner to confirm").click()
        await expect(lp.locator("#end_date-error")).to_be_visible()
        await _check(lp, "agreement-field-error", screenshot, assert_no_axe_violations)
        await lp.get_by_label("End date").fill((today + timedelta(days=10)).isoformat())
        await lp.get_by_role("button", name="Save the draft and ask my partner to confirm").click()
        await expect(lp.locator(".flash--success")).to_be_visible()

        # The mentor confirms from the agreement_to_confirm e-mail.
        agreement_link = await _link(c, sink, mentor["email"], web, f"/relationships/{rid}/agreement")
        await mp.goto(agreement_link)
        await _check(mp, "agreement-to-confirm", screenshot, assert_no_axe_violations)
        await mp.get_by_role("button", name="Confirm version 1").click()
        await expect(mp.locator(".flash--success")).to_be_visible()
        view = await ok(
            c.get(f"{se}/relationships/{rid}/agreement", headers=participant_headers(mentor["employee_id"]))
        )
        assert view["active"] and view["active"]["version"] == 1, view

        # The mentor schedules a session three days ahead (local time in their zone).
        starts = datetime.now(UTC) + timedelta(days=3)
        await mp.goto(f"/relationships/{rid}/sessions/new")
        await _check(mp, "session-new", screenshot, assert_no_axe_violations)
        await mp.get_by_label("Starts at").fill(starts.strftime("%Y-%m-%dT10:00"))
        await mp.get_by_label("Duration (minutes)").fill("45")
        await mp.get_by_role("button", name="Schedule and send the invitation").click()
        await expect(mp.locator(".flash--success")).to_be_visible()
        sessions = await ok(
            c.get(f"{se}/relationships/{rid}/sessions", headers=participant_headers(mentor["employee_id"]))
        )
        [scheduled] = [s for s in sessions if s["status"] == "scheduled"]
        assert scheduled["local"]["mentor"]["starts_at"].startswith(starts.strftime("%Y-%m-%dT10:00")), (
            scheduled
        )

        # ... and moves it a day later, an hour later in their zone.
        await mp.goto(f"/relationships/{rid}/sessions/{scheduled['id']}")
        later = starts + timedelta(days=1)
        await mp.get_by_label("New start").fill(later.strftime("%Y-%m-%dT11:00"))
        await mp.get_by_role("button", name="Move it and update the invitation").click()
        await expect(mp.locator(".flash--success")).to_be_visible()
        await _check(mp, "session-moved", screenshot, assert_no_axe_violations)
        moved = await ok(
            c.get(
                f"{se}/relationships/{rid}/sessions/{scheduled['id']}",
                headers=participant_headers(mentor["employee_id"]),
            )
        )
        assert moved["local"]["mentor"]["starts_at"].startswith(later.strftime("%Y-%m-%dT11:00")), moved

        # The leader logs yesterday's session as held, with topics both ways.
        held_at = datetime.now(UTC) - timedelta(days=1)
        await lp.goto(f"/relationships/{rid}/sessions/log")
        await lp.get_by_label("When it started").fill(held_at.strftime("%Y-%m-%dT09:00"))
        await lp.get_by_label("How long it lasted (minutes)").fill("50")
        await lp.get_by_label("What Ana Lima (reverse mentor) taught").fill("pandas\nnotebooks")
        await lp.get_by_label("What Bernd Vogel (leader) advised back").fill("supplier negotiation")
        await _check(lp, "session-log", screenshot, assert_no_axe_violations)
        await lp.get_by_role("button", name="Record the session").click()
        await expect(lp.locator(".flash--success")).to_be_visible()
        await _check(lp, "relationship-active", screenshot, assert_no_axe_violations)
        sessions = await ok(
            c.get(f"{se}/relationships/{rid}/sessions", headers=participant_headers(leader["employee_id"]))
        )
        [held] = [s for s in sessions if s["status"] == "held"]
        assert sorted((t["direction"], t["topic"]) for t in held["topics"]) == [
            ("mentee_to_mentor", "supplier negotiation"),
            ("mentor_to_mentee", "notebooks"),
            ("mentor_to_mentee", "pandas"),
        ]

        # The pulse, from the pulse_request e-mail.
        pulse = await _link(c, sink, mentor["email"], web, f"/sessions/{held['id']}/pulse")
        await mp.goto(pulse)
        await _check(mp, "pulse", screenshot, assert_no_axe_violations)
        await mp.get_by_label("4", exact=True).check()
        await mp.get_by_role("button", name="Send my rating").click()
        await expect(mp.locator(".flash--success")).to_be_visible()

        # The mid-point survey (the agreement's midpoint has passed).
        await lp.goto(f"/relationships/{rid}/surveys/midpoint")
        await lp.get_by_label("5", exact=True).check()
        await lp.get_by_label("How likely are you to recommend the programme to a colleague? (0 to 10)").fill(
            "9"
        )
        await lp.get_by_label("What did you learn?").fill("How notebooks work")
        await lp.get_by_label("What did you teach?").fill("Negotiation tactics")
        await _check(lp, "survey-midpoint", screenshot, assert_no_axe_violations)
        await lp.get_by_role("button", name="Send my answers").click()
        await expect(lp.locator(".flash--success")).to_be_visible()
        feedback = await ok(c.get(f"{se}/relationships/{rid}/feedback"))
        assert {(f["kind"], f["by_side"]) for f in feedback} >= {
            ("pulse", "mentor"),
            ("midpoint", "mentee"),
        }, feedback

        # A goal and a check-in (the leader's own).
        await lp.goto(f"/relationships/{rid}/goals")
        await lp.get_by_role("textbox", name="Goal (required)").fill("Read one dashboard a week")
        await lp.get_by_role("button", name="Add the goal").click()
        await expect(lp.locator(".flash--success")).to_be_visible()
        await lp.get_by_label("Progress so far (1 to 5)").select_option("4")
        await lp.get_by_role("button", name="Check in").click()
        await expect(lp.locator(".flash--success")).to_be_visible()
        await _check(lp, "goals", screenshot, assert_no_axe_violations)
        [goal] = await ok(c.get(f"{se}/relationships/{rid}/goals"))
        assert goal["owner_side"] == "mentee" and goal["latest_rating"] == 4, goal

        # The mentor's profile: availability edited in their own zone.
        await mp.goto("/me")
        await mp.get_by_role("link", name="Edit this profile").click()
        for day in range(7):
            await mp.locator(f"#avail_{day}_0_start").fill("")
            await mp.locator(f"#avail_{day}_0_end").fill("")
        await mp.locator("#avail_0_0_start").fill("09:00")
        await mp.locator("#avail_0_0_end").fill("12:30")
        await mp.get_by_label("Skills to share").fill("data science, python")
        await _check(mp, "profile", screenshot, assert_no_axe_violations)
        await mp.get_by_role("button", name="Save my profile").click()
        await expect(mp.locator(".flash--success")).to_be_visible()
        profile = await ok(c.get(f"{m}/cohorts/{cid}/participants/{proposal['mentor_id']}"))
        assert profile["availability"] == [{"weekday": 0, "start": "09:00", "end": "12:30"}], profile
        assert profile["skills_to_share"] == ["data science", "python"], profile

        # The inbox: one item read.
        me = participant_headers(mentor["employee_id"])
        before = (await ok(c.get(f"{no}/me/notifications/unread-count", headers=me)))["unread"]
        assert before >= 1
        await mp.goto("/inbox")
        await _check(mp, "inbox", screenshot, assert_no_axe_violations)
        await mp.get_by_role("button", name="Mark as read").first.click()
        await expect(mp.locator(".flash--success")).to_be_visible()
        after = (await ok(c.get(f"{no}/me/notifications/unread-count", headers=me)))["unread"]
        assert after == before - 1

        # Preferences: quiet hours, visible through notifications' API.
        prefs_link = await _link(c, sink, leader["email"], web, "/preferences/")
        await lp.goto(prefs_link)
        await _check(lp, "preferences", screenshot, assert_no_axe_violations)
        await lp.get_by_label("From").fill("22:00")
        await lp.get_by_label("To").fill("07:00")
        await lp.get_by_role("button", name="Save my preferences").click()
        await expect(lp.locator(".flash--success")).to_be_visible()
        saved = await ok(c.get(f"{no}/me/preferences", headers=participant_headers(leader["employee_id"])))
        assert saved["own"]["quiet_start"].startswith("22:00") and saved["own"]["quiet_end"].startswith(
            "07:00"
        ), saved

        # /me shows the profile, the proposal and the relationship.
        await mp.goto("/me")
        await expect(mp.get_by_role("link", name="With Bernd Vogel")).to_be_visible()
        await _check(mp, "me", screenshot, assert_no_axe_violations)
        await as_mentor.close()
        await as_leader.close()
