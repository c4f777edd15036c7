"""Headless Chromium opens the OBS page; a POST changes the score; the page shows it."""

from __future__ import annotations

import shutil

from playwright.async_api import async_playwright, expect

from asgi_app.overlay.state import view_key
from tests.overlay.app_factory import TOKEN
from tests.overlay.helpers import Served, team
from tests.support.browser import ARTIFACTS, CHROMIUM_ARGS
from tests.support.tools import require_tool

LOGO = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'%3E"
    "%3Ccircle cx='5' cy='5' r='5' fill='%23facc15'/%3E%3C/svg%3E"
)


async def test_page_redraws_on_post(server: Served) -> None:
    require_tool("chromium")
    executable = shutil.which("chromium")
    ARTIFACTS.mkdir(exist_ok=True)
    await server.post(
        {
            "blue": team("Blue Sharks", 0, logoUrl=LOGO),
            "red": team("Red Foxes", 1, primaryColor="#dc2626", logoUrl=LOGO),
            "maxScore": 3,
        },
        name="stream",
    )
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 200})
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            key = view_key(TOKEN, "stream")
            await page.goto(f"{server.url}/overlay/view/stream?key={key}&theme=dark")
            await page.wait_for_selector('#scoreboard[data-status="live"]', timeout=15000)
            blue, red = page.locator(".team--blue"), page.locator(".team--red")
            await expect(page.locator(".team--red .team__score")).to_have_text("1", timeout=30000)
            assert await blue.locator(".team__name").text_content() == "Blue Sharks"
            assert await red.locator(".team__pips li").count() == 3
            assert server.parts.realtime.client_count("stream") == 1

            state = {
                "blue": team("Blue Sharks", 2, logoUrl=LOGO),
                "red": team("Red Foxes", 1, primaryColor="#dc2626", logoUrl=LOGO),
                "maxScore": 3,
            }
            answer = await server.post(state, name="stream")
            assert answer.json()["clients"] == 1
            await expect(page.locator(".team--blue .team__score")).to_have_text("2", timeout=15000)
            assert await blue.locator(".pip--won").count() == 2
            assert await red.locator(".pip--won").count() == 1
            await page.screenshot(path=str(ARTIFACTS / "overlay-page.png"))
            assert problems == []  # no CSP violation, no script error
        finally:
            await browser.close()


async def test_page_without_key_says_access_refused(server: Served) -> None:
    require_tool("chromium")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{server.url}/overlay/view/stream")
            await page.wait_for_selector('#scoreboard[data-status="refused"]', timeout=15000)
            assert server.parts.realtime.client_counts() == {}
        finally:
            await browser.close()


async def test_a_logo_that_fails_to_load_is_hidden_and_a_good_one_shown(server: Served) -> None:
    require_tool("chromium")
    broken = "http://127.0.0.1:9/missing-logo.png"  # discard port: the load fails at once
    await server.post(
        {
            "blue": team("Blue", 0, logoUrl=LOGO),
            "red": team("Red", 0, logoUrl=broken),
            "maxScore": 2,
        },
        name="logos",
    )
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            key = view_key(TOKEN, "logos")
            await page.goto(f"{server.url}/overlay/view/logos?key={key}")
            await page.wait_for_selector('#scoreboard[data-status="live"]', timeout=15000)
            await expect(page.locator(".team--blue .team__logo")).to_be_visible(timeout=15000)
            red_logo = page.locator(".team--red .team__logo")
            # Loaded and failed: complete, with no natural size (no string evaluation: the
            # page's CSP forbids eval, which Playwright's polled expressions need).
            await expect(red_logo).to_have_js_property("complete", True, timeout=15000)
            await expect(red_logo).to_have_js_property("naturalWidth", 0)
            assert await red_logo.get_attribute("src") == broken
            assert await red_logo.is_hidden()
        finally:
            await browser.close()
