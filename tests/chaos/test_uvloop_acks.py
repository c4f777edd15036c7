"""The production worker runs on uvloop (gunicorn.conf.py -> asgi_app.worker, loop "auto"):
the server's client (gateway/rest/http_client.py, the acknowledgements' pool among others) must
work there too, not only on asyncio's loop. Found by the restart-safety test with the earlier
hand-written pool: under gunicorn every callback raised AssertionError."""

from __future__ import annotations

import asyncio

import uvloop

from gateway.rest.client import CALLBACK_CONNECTIONS
from gateway.rest.http_client import ClientOptions, OriginClient
from gateway.simulator import DiscordSimulator


async def _statuses() -> list[int]:
    """GET /gateway twice (the second on the kept-alive connection), then an acknowledgement,
    which the simulator records."""
    async with DiscordSimulator() as sim:
        pool = OriginClient.open(sim.api_base, ClientOptions(max_connections=CALLBACK_CONNECTIONS))
        headers = {"Authorization": f"Bot {sim.token}"}
        try:
            statuses = [(await pool.request("GET", "/gateway", headers)).status for _ in "ab"]
            callback = await pool.request(
                "POST",
                "/interactions/1/tok/callback",
                {"Content-Type": "application/json"},
                b'{"type":5}',
            )
        finally:
            await pool.aclose()
        assert [r.json for r in sim.routes.unknown_callbacks] == [{"type": 5}]
        return [*statuses, callback.status]


def test_the_client_answers_on_uvloop() -> None:
    assert uvloop.run(_statuses()) == [200, 200, 204]


def test_the_client_answers_on_asyncio() -> None:
    assert asyncio.run(_statuses()) == [200, 200, 204]
