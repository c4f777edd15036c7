"""Chromium on the OBS page (issue 23): the countdown of the overlay's timer moves, stops on
pause, shows the new time after extend, and keeps moving (never below 0:00) with the server
stopped."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import Page, expect

from asgi_app.overlay.state import view_key
from tests.support.browser import ARTIFACTS, chromium
from tests.support.harness.app import AUTH_TOKEN, running_app


def clock_text(ms: int) -> str:
    """What the page shows for `ms` left (whole seconds rounded up)."""
    total = -(-ms // 1000)
    hours, minutes, seconds = total // 3600, total % 3600 // 60, total % 60
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


async def remaining(page: Page) -> int:
    value = await page.locator(".timer").get_attribute("data-remaining")
    assert value is not None
    return int(value)


async def test_the_countdown_follows_the_timer_and_outlives_the_server(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 240})
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        box, text = page.locator(".timer"), page.locator(".timer__time")
        async with running_app(tmp_path) as srv:
            http = srv.http
            body = {"id": "obs:pick", "duration_ms": 125_000, "overlay": "stream"}
            assert (await http.post("/timers", json=body)).status_code == 201
            key = view_key(AUTH_TOKEN, "stream")
            await page.goto(f"{srv.url}/overlay/view/stream?key={key}&theme=dark")
            await expect(box).to_have_attribute("data-state", "running", timeout=15000)
            assert 110_000 < await remaining(page) <= 125_000
            first = await text.text_content()
            assert first is not None and first.startswith(("2:0", "1:5"))
            await expect(text).not_to_have_text(first, timeout=3000)  # it moves

            await http.post("/timers/obs:pick/pause")
            await expect(box).to_have_attribute("data-state", "paused", timeout=5000)
            stopped = await text.text_content()
            left = await remaining(page)
            await asyncio.sleep(1.2)
            assert await text.text_content() == stopped and await remaining(page) == left

            await http.post("/timers/obs:pick/extend", json={"ms": 600_000})
            await expect(box).to_have_attribute("data-remaining", str(left + 600_000), timeout=5000)
            await expect(text).to_have_text(clock_text(left + 600_000), timeout=1000)
            await http.post("/timers/obs:pick/resume")
            await expect(box).to_have_attribute("data-state", "running", timeout=5000)
            await page.screenshot(path=str(ARTIFACTS / "overlay-timer.png"))

            # A short one, then the server goes away before it is due.
            await http.delete("/timers/obs:pick")
            short = {"id": "obs:short", "duration_ms": 4_000, "overlay": "stream"}
            assert (await http.post("/timers", json=short)).status_code == 201
            await expect(box).to_have_attribute("data-timer", "obs:short", timeout=5000)
        seen = [await remaining(page)]
        for _ in range(6):  # 6 s without a server: it keeps counting, down to 0:00, not below
            await asyncio.sleep(1.0)
            seen.append(await remaining(page))
        assert seen[0] > seen[1] > seen[2] > 0, seen
        assert seen[-1] == 0 and await text.text_content() == "0:00"
        assert await box.get_attribute("data-state") == "running"  # nobody said it fired
        assert problems == []
