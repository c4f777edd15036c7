"""`make run`: the console fires each event kind through the simulator and shows the delivery,
its attempts and its answer; the stand-in main app checks the signatures."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from asgi_app.factory import create_app
from asgi_app.settings import load_settings
from tests.support.harness.app import discord_of
from tests.support.harness.logcapture import note_settings
from tests.support.harness.server import free_port, serve


async def test_the_console_fires_each_kind_and_shows_what_happened(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "APP_ENV": "development",
        "PORT": str(port),
        "STATE_DIR": str(tmp_path),
        "GATEWAY_INTENTS": str(1 | 2),  # GUILD_MEMBERS opted in: member events forwarded too
    }
    app = create_app(note_settings(load_settings(env, env_file=None)))
    assert app.settings.events_url == f"http://127.0.0.1:{port}/api/discord/events"
    async with (
        serve(app, port=port, lifespan="on") as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        await asyncio.wait_for(discord_of(app).gateway.wait_for("ready"), 10)
        assert 'id="event-kinds"' in (await client.get("/dev")).text
        state = (await client.get("/dev/events")).json()
        assert "GUILD_MEMBER_ADD" in state["forwarded"] and state["mode"] == "ok"
        for kind in state["kinds"]:
            result = (await client.post("/dev/event", json={"kind": kind})).json()
            steps = [s["step"] for s in result["steps"]]
            assert steps[-1] == "outcome", result
            assert result["steps"][-1]["detail"] == "delivered", result
            assert "attempt" in steps
        received = (await client.get("/dev/events")).json()["received"]
        assert len(received) == len(state["kinds"])
        assert all(r["signature_ok"] and r["status"] == 200 for r in received)
        # A 400 from the main app: a dead letter at once, shown as such.
        await client.post("/dev/events/mode", json={"mode": "reject"})
        result = (await client.post("/dev/event", json={"kind": "MESSAGE_CREATE"})).json()
        assert result["steps"][-1]["detail"].startswith("dead letter")
        assert "answered 400" in result["steps"][-2]["detail"]
        # Content is empty: MESSAGE_CONTENT was not asked for.
        assert "content ''" in result["steps"][0]["detail"]


async def test_withheld_without_the_intent(tmp_path: Path) -> None:
    env = {"APP_ENV": "development", "PORT": str(free_port()), "STATE_DIR": str(tmp_path)}
    app = create_app(note_settings(load_settings(env, env_file=None)))
    async with (
        serve(app, port=int(env["PORT"]), lifespan="on") as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        await asyncio.wait_for(discord_of(app).gateway.wait_for("ready"), 10)
        result = (await client.post("/dev/event", json={"kind": "GUILD_MEMBER_ADD"})).json()
        assert result["event_id"] is None
        assert result["steps"] == [
            {
                "step": "not dispatched",
                "detail": "Discord withholds it: GUILD_MEMBERS not identified",
            }
        ]
