"""`make run`: the console starts a 30 s pick timer with a reminder at 10 s; both deliveries
reach the stand-in main app signed, and the console lists them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from asgi_app.factory import create_app
from asgi_app.settings import load_settings
from tests.support.harness.logcapture import note_settings
from tests.support.harness.server import free_port, serve


async def test_console_starts_a_pick_timer_and_shows_its_deliveries(tmp_path: Path) -> None:
    port = free_port()
    env = {"APP_ENV": "development", "PORT": str(port), "STATE_DIR": str(tmp_path)}
    app = create_app(note_settings(load_settings(env, env_file=None)))
    assert app.settings.timers_url == f"http://127.0.0.1:{port}/api/discord/timers"
    async with (
        serve(app, port=port, lifespan="on") as url,
        httpx.AsyncClient(base_url=url, timeout=20) as client,
    ):
        page = await client.get("/dev")
        assert 'id="start-timer"' in page.text
        started = await client.post("/dev/timer")
        assert started.status_code == 201
        timer = started.json()
        assert timer["overlay"] == "default" and 29_000 < timer["remaining_ms"] <= 30_000
        assert timer["reminders_at"] == [timer["due_at"] - 10_000]
        # Not 30 s in a test: the clock is shortened to 0.3 s, so the reminder is due at once.
        timers = app.services.running.timers
        assert timers is not None
        await timers.engine.extend(timer["id"], -29_700)

        async def received() -> list[dict[str, object]]:
            listed: list[dict[str, object]] = (await client.get("/dev/timers")).json()["received"]
            return listed

        got: list[dict[str, object]] = []

        async def poll() -> None:
            while len(got) < 2:
                got[:] = await received()
                await asyncio.sleep(0.05)

        await asyncio.wait_for(poll(), 10)
        assert sorted(str(d["kind"]) for d in got) == ["fire", "reminder"]
        assert all(d["signature_ok"] is True and d["timer_id"] == timer["id"] for d in got)
        listed = (await client.get("/dev/timers")).json()["timers"]
        assert [t["state"] for t in listed] == ["fired"]
