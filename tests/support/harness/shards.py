"""Shards on the simulator: short timings and the /gateway/bot fetcher a GatewayManager uses."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from gateway.connection import ShardTimings
from gateway.simulator import DiscordSimulator

# Everything short so the suite is fast; each test overrides what it is about.
FAST = ShardTimings(
    connect_timeout=2.0,
    hello_timeout=2.0,
    ready_timeout=2.0,
    resume_timeout=2.0,
    backoff_base=0.002,
    backoff_cap=0.02,
    backoff_floor=0.0,
    stable_after=3600.0,
    invalid_session_wait=(0.001, 0.005),
    stall_warning=2.0,
    ping_interval=None,
    ping_timeout=None,
    close_timeout=1.0,
    identify_interval=0.0,
)


def fetcher(
    sim: DiscordSimulator, calls: list[float] | None = None
) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def fetch() -> dict[str, Any]:
        if calls is not None:
            calls.append(asyncio.get_running_loop().time())
        headers = {
            "Authorization": f"Bot {sim.token}",
            "User-Agent": "DiscordBot (https://example.invalid, 0.1)",
        }
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{sim.api_base}/gateway/bot", headers=headers)
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body

    return fetch
