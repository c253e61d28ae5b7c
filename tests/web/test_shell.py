"""The web app's shell in real headless Chromium against the platform: development sign-in as HR and
as a participant, the home page, the language switcher (ja, de), a signed-out deep link that comes
back after sign-in, the error page, no axe-core violations, no horizontal scroll at phone width, and
the keyboard alone (skip link, sign-in, visible focus)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

pytestmark = pytest.mark.e2e

PHONE = {"width": 360, "height": 740}


async def _no_horizontal_scroll(page: Page) -> None:
    widths = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways at {widths[1]} px: {widths[0]} px wide"


async def test_hr_signs_in_and_sees_the_cohorts(
    page: Page, sign_in_dev: Any, screenshot: Any, assert_no_axe_violations: Any
) -> None:
    await page.goto("/")
    await expect(page.locator("h1")).to_have_text("Sign in to Bridge")
    await expect(page.locator(".dev-banner")).to_contain_text("Development sign-in")
    await expect(page).to_have_title("Sign in · Bridge")
    await assert_no_axe_violations(page)
    await screenshot(page, "signin")

    await sign_in_dev(page, as_="hr_admin")
    await expect(page.locator("h1")).to_have_text("Welcome, Dev HR Admin")
    await expect(page.get_by_role("link", name="Go to cohorts")).to_have_attribute("href", "/hr/cohorts")
    await expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Cohorts")
    ).to_be_visible()
    await expect(page.get_by_role("link", name="Go to my mentoring")).to_have_count(0)
    await expect(page.locator(".dev-banner")).to_be_visible()  # on every page
    await assert_no_axe_violations(page)
    await screenshot(page, "home-hr")

    await page.goto("/account")
    await expect(page.locator("[data-role=hr_admin]")).to_have_text("HR administrator (all regions)")


async def test_regional_hr_signs_in_for_its_region(page: Page, sign_in_dev: Any) -> None:
    await sign_in_dev(page, as_="hr_regional", region="APAC")
    await expect(page.get_by_text("Run the cohorts of your regions: APAC.")).to_be_visible()


async def test_a_participant_signs_in_and_switches_language(
    page: Page, sign_in_dev: Any, screenshot: Any, assert_no_axe_violations: Any
) -> None:
    await sign_in_dev(page, as_="E2001")
    await expect(page.locator("h1")).to_contain_text("Welcome")
    await expect(page.get_by_role("link", name="Go to my mentoring")).to_have_attribute("href", "/me")
    await expect(page.get_by_role("link", name="Open my inbox")).to_have_attribute("href", "/inbox")
    await expect(page.get_by_role("link", name="Go to cohorts")).to_have_count(0)
    await assert_no_axe_violations(page)
    await screenshot(page, "home-participant")

    await page.get_by_label("Language").select_option("ja")
    await page.get_by_role("button", name="Change language").click()
    await expect(page.locator("html")).to_have_attribute("lang", "ja")
    await expect(page.locator("h1")).to_contain_text("ようこそ")
    await expect(page.get_by_role("link", name="マイメンタリングへ")).to_be_visible()
    await expect(page.get_by_role("status")).to_contain_text("日本語")
    await assert_no_axe_violations(page)
    await screenshot(page, "home-participant-ja")

    await page.get_by_label("言語").select_option("de")
    await page.get_by_role("button", name="言語を変更").click()
    await expect(page.locator("html")).to_have_attribute("lang", "de")
    await expect(page.locator("h1")).to_contain_text("Willkommen")
    await expect(page.get_by_role("button", name="Sprache ändern")).to_be_visible()
    await screenshot(page, "home-participant-de")

    # Signing out keeps the chosen language and ends the session.
    await page.get_by_role("button", name="Abmelden").click()
    await expect(page.locator("h1")).to_have_text("Sie sind abgemeldet")
    await page.goto("/account")
    await expect(page).to_have_url(re.compile(r"/signin\?next=%2Faccount$"))


async def test_a_signed_out_deep_link_comes_back_after_sign_in(page: Page, sign_in_dev: Any) -> None:
    target = f"/relationships/{uuid.uuid4()}"
    await page.goto(target)
    assert "/signin?next=" in page.url
    await expect(page.locator("h1")).to_have_text("Sign in to Bridge")
    await page.get_by_label("Employee id").fill("E2002")
    await page.get_by_role("button", name="Sign in as this participant").click()
    await page.wait_for_load_state()
    assert page.url.endswith(target), page.url


async def test_error_pages_are_accessible(
    page: Page, sign_in_dev: Any, screenshot: Any, assert_no_axe_violations: Any
) -> None:
    answer = await page.goto("/no-such-page")
    assert answer is not None and answer.status == 404
    await expect(page.locator("h1")).to_have_text("Page not found")
    await assert_no_axe_violations(page)
    await screenshot(page, "not-found-signed-out")
    await sign_in_dev(page, as_="E2003")
    answer = await page.goto("/no-such-page")
    assert answer is not None and answer.status == 404
    await assert_no_axe_violations(page)
    await screenshot(page, "not-found")


async def test_phone_width_has_no_horizontal_scroll(
    browser: Browser, web_platform: Any, sign_in_dev: Any, screenshot: Any, assert_no_axe_violations: Any
) -> None:
    context = await browser.new_context(base_url=web_platform.base_url, viewport=PHONE, is_mobile=True)
    try:
        page = await context.new_page()
        await page.goto("/signin")
        await _no_horizontal_scroll(page)
        await screenshot(page, "signin-phone")
        await sign_in_dev(page, as_="hr_admin")
        await _no_horizontal_scroll(page)
        await assert_no_axe_violations(page)
        await screenshot(page, "home-hr-phone")
    finally:
        await context.close()


async def _tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Presses Tab until the element matching `selector` has the focus (keyboard only)."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate(
            "(s) => document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"Tab never reached {selector}")


async def test_the_keyboard_alone_signs_in_and_every_focus_is_visible(page: Page) -> None:
    """No mouse: the skip link comes first and moves to the content; Tab reaches the sign-in form,
    Enter submits it; every control Tab reaches on the home page shows where the focus is."""
    await page.goto("/signin")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "skip-link"
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "main"
    await _tab_to(page, "input[name=employee_id]")
    await page.keyboard.type("E2001")
    await page.keyboard.press("Enter")
    await expect(page.locator("h1")).to_contain_text("Welcome")
    seen = 0
    for _ in range(12):
        await page.keyboard.press("Tab")
        style = await page.evaluate(
            """() => { const e = document.activeElement; if (!e || e === document.body) return null;
                 const s = getComputedStyle(e); return [e.tagName, s.outlineStyle, s.outlineWidth]; }"""
        )
        if style is None:
            continue
        seen += 1
        assert style[1] != "none" and style[2] != "0px", f"{style[0]} has no visible focus: {style}"
    assert seen >= 5, "Tab reached the page's controls"
