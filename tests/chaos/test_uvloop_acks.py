"""The production worker runs on uvloop (gunicorn.conf.py -> asgi_app.worker, loop "auto"):
the acknowledgement pool (gateway/rest/http1.py) must work there too, not only on asyncio's loop.
Found by the restart-safety test: under gunicorn every callback raised AssertionError."""

from __future__ import annotations

import asyncio

import uvloop

from gateway.rest.http1 import Http1Pool
from gateway.simulator import DiscordSimulator


async def _gateway_status() -> int:
    async with DiscordSimulator() as sim:
        pool = Http1Pool(sim.api_base)
        try:
            answer = await pool.request(
                "GET",
                "/gateway",
                {
                    "User-Agent": "DiscordBot (https://example.test, 1)",
                    "Authorization": f"Bot {sim.token}",
                },
            )
        finally:
            await pool.aclose()
        return answer.status


def test_http1_pool_answers_on_uvloop() -> None:
    assert uvloop.run(_gateway_status()) == 200


def test_http1_pool_answers_on_asyncio() -> None:
    assert asyncio.run(_gateway_status()) == 200
