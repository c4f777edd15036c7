"""The 401 rule of DiscordRest: a 401 on one of the server's own bot-token calls is checked with
GET /users/@me before the token is marked invalid; a proxied call's 401 is the caller's; token
routes carry no bot token, so their 401 says nothing about it; check_token() recovers."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from gateway.audit.log import AuditLog
from gateway.rest.client import DiscordAuthFailed, DiscordRest, new_rest_client
from gateway.simulator import DiscordSimulator
from tests.rest.conftest import FakeClock
from tests.rest.rest_client import Stub, make
from tests.support.discord_rest import Reply

UNAUTHORIZED = {"message": "401: Unauthorized", "code": 0}


def paths(stub: Stub) -> list[str]:
    return [r.path.removeprefix("/api/v10") for r in stub[0].requests]


async def test_a_401_confirmed_by_users_me_marks_the_token_invalid(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    app.script("GET", "/gateway/bot", Reply(401, UNAUTHORIZED))
    app.script("GET", "/users/@me", Reply(401, UNAUTHORIZED))
    rest = make(stub, client, clock)
    told: list[str | None] = []
    rest.on_token_state(told.append)
    with pytest.raises(DiscordAuthFailed):
        await rest.request("GET", "/gateway/bot")
    assert paths(stub) == ["/gateway/bot", "/users/@me"]
    assert rest.failed and rest.failure_reason is not None
    assert "401 on GET /users/@me" in rest.failure_reason
    assert "GET /gateway/bot" in rest.failure_reason
    assert told == [rest.failure_reason]
    # bot-token calls are refused before they are sent, the main app's as well ...
    with pytest.raises(DiscordAuthFailed):
        await rest.request("POST", "/channels/1/messages", {"content": "x"})
    with pytest.raises(DiscordAuthFailed):
        await rest.proxy("GET", "/guilds/1", None, {}, max_wait=1.0)
    assert paths(stub) == ["/gateway/bot", "/users/@me"]
    # ... but the token routes carry no bot token: acknowledgements and edits still go
    ack = await rest.request("POST", "/interactions/1/tok/callback", {"type": 5})
    edit = await rest.request("PATCH", "/webhooks/1/tok/messages/@original", {"content": "x"})
    assert ack.status == 200 and edit.status == 200
    assert paths(stub)[2:] == ["/interactions/1/tok/callback", "/webhooks/1/tok/messages/@original"]
    await rest.aclose()


async def test_a_401_with_a_token_that_works_is_only_that_calls_answer(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    app.script("GET", "/guilds/1/members", Reply(401, UNAUTHORIZED))  # /users/@me: 200
    rest = make(stub, client, clock)
    told: list[str | None] = []
    rest.on_token_state(told.append)
    response = await rest.request("GET", "/guilds/1/members")
    assert response.status == 401 and response.json() == UNAUTHORIZED
    assert paths(stub) == ["/guilds/1/members", "/users/@me"]
    assert not rest.failed and told == []
    assert (await rest.request("POST", "/channels/1/messages", {"content": "x"})).status == 200


async def test_a_proxied_401_is_given_back_and_changes_nothing(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    body = {"message": "401: Unauthorized", "code": 0, "extra": "as Discord sent it"}
    app.script("GET", "/oauth2/@me", Reply(401, body, {"X-Custom": "kept"}))
    app.script("GET", "/users/@me", Reply(401, UNAUTHORIZED))  # would mark it, if asked
    rest = make(stub, client, clock)
    answer = await rest.proxy("GET", "/oauth2/@me", None, {}, max_wait=1.0)
    assert answer.status == 401 and answer.json() == body
    assert answer.headers["x-custom"] == "kept"
    assert paths(stub) == ["/oauth2/@me"]  # not checked
    assert not rest.failed and rest.failure_reason is None
    assert rest.invalid.count() == 1  # Discord counts it all the same
    assert (await rest.request("POST", "/channels/1/messages", {"content": "x"})).status == 200
    await rest.aclose()


async def test_a_401_on_a_token_route_is_not_checked(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    app.script("PATCH", "/webhooks/", Reply(401, {"message": "Invalid Webhook Token"}))
    app.script("GET", "/users/@me", Reply(401, UNAUTHORIZED))
    rest = make(stub, client, clock)
    response = await rest.request("PATCH", "/webhooks/1/tok/messages/@original", {"content": "x"})
    assert response.status == 401
    assert paths(stub) == ["/webhooks/1/tok/messages/@original"]
    assert not rest.failed


async def test_a_burst_of_401s_is_checked_once(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    for channel in range(5):
        app.script("POST", f"/channels/{channel}/messages", Reply(401, UNAUTHORIZED))
    app.script("GET", "/users/@me", Reply(401, UNAUTHORIZED, delay=0.3))
    rest = make(stub, client, clock)
    sends = [rest.request("POST", f"/channels/{c}/messages", {"content": "x"}) for c in range(5)]
    results = await asyncio.gather(*sends, return_exceptions=True)
    assert all(isinstance(r, DiscordAuthFailed) for r in results), results
    assert paths(stub).count("/users/@me") == 1
    assert rest.failed


async def test_a_check_without_an_answer_leaves_the_token_standing(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    app.script("GET", "/gateway/bot", Reply(401, UNAUTHORIZED))
    app.script("GET", "/users/@me", Reply(503), Reply(503), Reply(503))
    rest = make(stub, client, clock)
    response = await rest.request("GET", "/gateway/bot")
    assert response.status == 401
    assert paths(stub) == ["/gateway/bot"] + ["/users/@me"] * 3
    assert not rest.failed


async def test_check_token_recovers_once_discord_takes_the_token(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    app.script("POST", "/channels/1/messages", Reply(401, UNAUTHORIZED))
    app.script("GET", "/users/@me", Reply(401, UNAUTHORIZED), Reply(401, UNAUTHORIZED))
    rest = make(stub, client, clock)
    told: list[str | None] = []
    rest.on_token_state(told.append)
    with pytest.raises(DiscordAuthFailed):
        await rest.request("POST", "/channels/1/messages", {"content": "x"})
    assert await rest.check_token("POST /discord") is False  # still refused
    assert rest.failed and rest.failure_reason is not None
    assert rest.failure_reason.endswith("after POST /discord")
    assert await rest.check_token("POST /discord") is True  # the third /users/@me: 200
    assert not rest.failed and rest.failure_reason is None
    assert len(told) == 2 and told[0] is not None and told[1] is None
    assert (await rest.request("POST", "/channels/1/messages", {"content": "x"})).status == 200


async def test_a_revoked_token_in_the_simulator_then_restored() -> None:
    """The simulator refuses the token for real: the audit log's post is refused, checked,
    the token marked invalid; the refusal is posted once check_token() finds it working."""
    async with DiscordSimulator() as sim:
        client = new_rest_client(sim.api_base)
        try:
            rest = DiscordRest(sim.api_base, sim.token, client)
            audit = AuditLog(rest, "555")
            rest.on_token_state(
                lambda reason: audit.token_refused(reason) if reason else audit.token_accepted()
            )
            await sim.revoke_token()
            task = audit.post({"title": "Member joined"})
            assert task is not None
            await task
            assert audit.failed == 1 and rest.failed
            me = sim.rest.find("GET", "/users/@me")
            assert [r.status for r in me] == [401]
            assert (await rest.check_token("POST /discord")) is False
            sim.restore_token()
            assert (await rest.check_token("POST /discord")) is True
            await audit.flush()
            posted = [r for r in sim.rest.find("POST", "/channels/555/messages") if r.status == 200]
            assert [r.json["embeds"][0]["title"] for r in posted] == [
                "Discord refused the bot token"
            ]
            description = posted[0].json["embeds"][0]["description"]
            assert "401 on GET /users/@me after a 401 on POST /channels/{channel_id}/messages" in (
                description
            )
        finally:
            await client.aclose()
