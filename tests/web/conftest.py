"""Browser tests of the web app: the session's platform (tests/platform_fixtures.py: the four services
as processes on real PostgreSQL and Kafka) plus the web app as its own process, driven by a real
headless Chromium (Debian's /usr/bin/chromium through Playwright).

Fixtures: `web_platform` (.base_url, .platform, .url(path)), `browser`, `page` (a fresh context whose
base URL is the web app), `sign_in_dev(page, as_=employee_id | "hr_admin" | "hr_regional",
region=...)`, `screenshot(page, name)` (PNG under test-artifacts/web/) and
`assert_no_axe_violations(page)` (axe-core, bundled by axe-playwright-python; no network).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright, expect

from bridge_devstack.platform import WEB, Platform

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = os.environ.get("BRIDGE_TEST_CHROMIUM", "/usr/bin/chromium")
_CHROMIUM_PATH = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
HR_ROLES = ("hr_admin", "hr_regional")


@dataclass
class WebPlatform:
    platform: Platform

    @property
    def base_url(self) -> str:
        return self.platform.url(WEB)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"


@pytest.fixture(scope="session")
async def web_platform(platform: Platform) -> WebPlatform:
    """The platform with the web app running beside it (development sign-in on; the platform's
    development JWT settings), on the port notifications' e-mail links already point at."""
    if WEB not in platform.procs:
        platform.extra_env.setdefault(WEB, {}).update(
            {"BRIDGE_WEB_ENVIRONMENT": "development", "BRIDGE_WEB_LOG_LEVEL": "WARNING"}
        )
        platform.start_web()
        await platform.wait_ready(timeout=60, services=(WEB,))
    return WebPlatform(platform)  # the platform fixture stops the web app with the services


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if _CHROMIUM_PATH is None:
        pytest.fail(f"Chromium not found at {CHROMIUM} (make deps installs Debian's chromium package)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=_CHROMIUM_PATH,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Browser, web_platform: WebPlatform) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=web_platform.base_url)
    try:
        yield await context.new_page()
    finally:
        await context.close()


SignIn = Callable[..., Awaitable[None]]


@pytest.fixture
def sign_in_dev(web_platform: WebPlatform) -> SignIn:
    """Signs `page` in through the development sign-in page: as global HR ("hr_admin"), as regional
    HR ("hr_regional", region=...), or as the participant with employee id `as_`."""

    async def sign_in(page: Page, as_: str, *, region: str = "EMEA", next: str = "/") -> None:
        await page.goto(f"{web_platform.base_url}/signin?next={next}")
        if as_ == "hr_admin":
            await page.get_by_role("button", name="Sign in as global HR admin").click()
        elif as_ == "hr_regional":
            await page.get_by_label("Region").select_option(region)
            await page.get_by_role("button", name="Sign in as regional HR").click()
        else:
            await page.get_by_label("Employee id").fill(as_)
            await page.get_by_role("button", name="Sign in as this participant").click()
        await page.wait_for_load_state()
        await expect(page.locator(".signed-in-as")).to_be_visible()

    return sign_in


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Awaitable[Path]]:
    """Saves a full-page PNG as test-artifacts/web/<test>--<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:80]

    async def take(page: Page, name: str) -> Path:
        path = ARTIFACTS / f"{test}--{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path

    return take


_axe = Axe()


async def _assert_no_axe_violations(page: Page) -> None:
    results = await _axe.run(page)
    if results.violations_count:
        pytest.fail(f"axe-core violations on {page.url}:\n{results.generate_report()}")


@pytest.fixture
def assert_no_axe_violations() -> Callable[[Page], Awaitable[None]]:
    """Runs axe-core (WCAG 2 A/AA and best-practice rules) on the page; fails listing each violation."""
    return _assert_no_axe_violations
