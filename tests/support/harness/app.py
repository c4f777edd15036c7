"""The whole server (create_app) against a Discord simulator, served by a real uvicorn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from asgi_app.factory import ServerApp, create_app
from asgi_app.services import Discord
from asgi_app.settings import load_settings
from gateway.simulator import DiscordSimulator
from tests.support.harness.logcapture import note_settings
from tests.support.harness.server import serve

AUTH_TOKEN = "test-auth-token-0123456789abcdef-XYZ"
ORIGIN = "https://app.example.com"


@dataclass
class Running:
    url: str
    app: ServerApp
    sim: DiscordSimulator
    http: httpx.AsyncClient  # authenticated client of the server

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": AUTH_TOKEN}


def discord_of(app: ServerApp) -> Discord:
    """The started app's Discord parts (gateway, REST, relay); the test's app has a gateway."""
    discord = app.services.running.discord
    assert discord is not None, "the app runs without a gateway"
    return discord


class DiscordEndpoints(Protocol):
    """A simulator in this process or in its own
    (`tests.support.harness.sim_process.SimProcess`)."""

    @property
    def token(self) -> str: ...

    @property
    def api_base(self) -> str: ...


def production_env(sim: DiscordEndpoints, state_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        "APP_ENV": "production",
        "BOT_TOKEN": sim.token,
        "AUTH_TOKEN": AUTH_TOKEN,
        "ORIGIN_URL": ORIGIN,
        "DISCORD_API_BASE": sim.api_base,
        "STATE_DIR": str(state_dir),
        "LOG_FORMAT": "text",
    }
    env.update(extra)
    return env


@asynccontextmanager
async def running_app(
    state_dir: Path,
    *,
    sim: DiscordSimulator | None = None,
    wait_ready: bool = True,
    **env: str,
) -> AsyncIterator[Running]:
    """Simulator (fast heartbeats unless given) + the app in production mode, gateway READY."""
    own_sim = sim is None
    simulator = sim or DiscordSimulator(heartbeat_interval_ms=500)
    if own_sim:
        await simulator.start()
    try:
        settings = note_settings(
            load_settings(production_env(simulator, state_dir, **env), env_file=None)
        )
        app = create_app(settings)
        async with (
            serve(app, lifespan="on") as url,
            httpx.AsyncClient(
                base_url=url, headers={"Authorization": AUTH_TOKEN}, timeout=15
            ) as http,
        ):
            discord = app.services.running.discord
            if wait_ready and discord is not None:
                await asyncio.wait_for(discord.gateway.wait_for("ready"), 10)
            yield Running(url, app, simulator, http)
    finally:
        if own_sim:
            await simulator.stop()
