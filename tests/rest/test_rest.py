"""DiscordRest against a loopback Discord stand-in: what every call carries."""

from __future__ import annotations

import httpx

from gateway.user_agent import USER_AGENT
from tests.rest.conftest import FakeClock
from tests.rest.rest_client import Stub, make
from tests.support.discord_rest import Reply


async def test_every_call_carries_bot_auth_user_agent_and_json(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    rest = make(stub, client, clock)
    response = await rest.request("POST", "/channels/1/messages", {"content": "hi"}, reason="a b/é")
    assert response.status_code == 200
    (req,) = app.requests
    assert req.path == "/api/v10/channels/1/messages"
    assert req.headers["authorization"] == "Bot bot-token"
    assert req.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("DiscordBot (https://") and USER_AGENT.endswith(", 0.1.0)")
    assert req.headers["content-type"] == "application/json"
    assert req.headers["x-audit-log-reason"] == "a b%2F%C3%A9"
    assert req.json == {"content": "hi"}
    assert "bot-token" not in repr(rest)


async def test_get_gateway_bot(stub: Stub, client: httpx.AsyncClient, clock: FakeClock) -> None:
    app, _ = stub
    body = {"url": "wss://x", "shards": 2, "session_start_limit": {"remaining": 5}}
    app.script("GET", "/gateway/bot$", Reply(json=body))
    assert await make(stub, client, clock).get_gateway_bot() == body
