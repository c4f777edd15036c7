from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.simulator import DiscordSimulator, Reply, RestRequest

UA = "DiscordBot (https://example.invalid, 1.0)"


@pytest.fixture
async def http(sim: DiscordSimulator) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"User-Agent": UA, "Authorization": f"Bot {sim.token}"}
    async with httpx.AsyncClient(base_url=sim.api_base, headers=headers) as client:
        yield client


async def test_auth_and_user_agent_checked(sim: DiscordSimulator, http: httpx.AsyncClient) -> None:
    no_auth = await http.get("/gateway/bot", headers={"Authorization": "Bot wrong"})
    no_ua = await http.get("/gateway/bot", headers={"User-Agent": "python-httpx"})
    ok = await http.get("/users/@me")
    assert no_auth.status_code == 401 and no_ua.status_code == 400
    assert ok.status_code == 200 and ok.json()["bot"] is True
    assert [r.status for r in sim.rest.requests] == [401, 400, 200]
    assert sim.rest.requests[2].headers["user-agent"] == UA


async def test_unknown_path_and_method(http: httpx.AsyncClient) -> None:
    assert (await http.get("/nope")).status_code == 404
    assert (await http.delete("/gateway/bot")).status_code == 405


async def test_channel_message_bucket_headers_and_429(
    sim: DiscordSimulator, http: httpx.AsyncClient
) -> None:
    sim.rest.set_limit("POST /channels/{channel_id}/messages", 2, 30.0)
    answers = [await http.post("/channels/42/messages", json={"content": "hi"}) for _ in range(3)]
    other = await http.post("/channels/43/messages", json={"content": "hi"})
    first, _second, third = answers
    assert first.status_code == 200 and first.json()["content"] == "hi"
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert 29 < float(first.headers["X-RateLimit-Reset-After"]) <= 30
    assert first.headers["X-RateLimit-Bucket"] == other.headers["X-RateLimit-Bucket"]
    assert third.status_code == 429
    body = third.json()
    assert body["global"] is False and 0 < body["retry_after"] <= 30
    assert third.headers["X-RateLimit-Scope"] == "user"
    assert other.status_code == 200  # another channel: its own bucket (major parameter)
    assert sim.rest.requests[0].json == {"content": "hi"}


async def test_injected_429_and_5xx(sim: DiscordSimulator, http: httpx.AsyncClient) -> None:
    sim.rest.inject("/channels/*", status=429, retry_after=1.5, global_=True)
    sim.rest.inject("/channels/*", status=502, times=2)
    answers = [await http.post("/channels/1/messages", json={"content": "x"}) for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 502, 502, 200]
    limited = answers[0]
    assert limited.json() == {
        "message": "You are being rate limited.",
        "retry_after": 1.5,
        "global": True,
        "code": 0,
    }
    assert limited.headers["X-RateLimit-Global"] == "true"
    assert limited.headers["X-RateLimit-Scope"] == "global"
    assert limited.headers["Retry-After"] == "2"
    assert [r.injected for r in sim.rest.requests] == [True, True, True, False]


async def test_injected_drop_closes_connection(
    sim: DiscordSimulator, http: httpx.AsyncClient
) -> None:
    sim.rest.inject("/users/@me", drop=True)
    with pytest.raises(httpx.TransportError):
        await http.get("/users/@me")
    assert (await http.get("/users/@me")).status_code == 200


async def test_gateway_bot_status_fault(sim: DiscordSimulator, http: httpx.AsyncClient) -> None:
    sim.gateway_bot_status = 503
    assert (await http.get("/gateway/bot")).status_code == 503
    sim.gateway_bot_status = None
    assert (await http.get("/gateway/bot")).status_code == 200


async def test_global_limit_records_violations() -> None:
    async with DiscordSimulator(global_limit=3, global_window=60.0) as sim:
        headers = {"User-Agent": UA, "Authorization": f"Bot {sim.token}"}
        async with httpx.AsyncClient(base_url=sim.api_base, headers=headers) as http:
            codes = [(await http.get("/users/@me")).status_code for _ in range(5)]
            limited = await http.get("/users/@me")
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    assert limited.json()["global"] is True and limited.headers["X-RateLimit-Scope"] == "global"
    assert len(sim.rest.global_violations) == 3
    assert sim.rest.global_limit.peak == 3


async def test_latency_and_custom_route(sim: DiscordSimulator, http: httpx.AsyncClient) -> None:
    async def guild(req: RestRequest) -> Reply:
        return Reply(200, {"id": req.params["guild_id"]})

    sim.rest.add_route("GET", "/guilds/{guild_id}", guild, major="guild_id")
    sim.rest.set_latency("/guilds/*", 0.05)
    res = await http.get("/guilds/77")
    assert res.json() == {"id": "77"} and "X-RateLimit-Bucket" in res.headers
    assert sim.rest.find("GET", "/guilds/*")[0].route == "GET /guilds/{guild_id}"
    assert res.elapsed.total_seconds() >= 0.05


async def test_wait_for_rest_request(sim: DiscordSimulator, http: httpx.AsyncClient) -> None:
    import asyncio

    task = asyncio.create_task(http.get("/users/@me"))
    found = await sim.wait_for(lambda: sim.rest.find("GET", "/users/@me"))
    await task
    assert found[0].method == "GET"
    with pytest.raises(TimeoutError):
        await sim.wait_for(lambda: False, timeout=0.05)
