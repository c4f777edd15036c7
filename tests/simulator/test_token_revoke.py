"""sim.revoke_token() / restore_token(): the simulator refuses the bot token as Discord does
after a reset (REST 401, gateway 4004), and takes it again; /oauth2/@me refuses a bot token."""

from __future__ import annotations

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from gateway.simulator import DiscordSimulator, factory
from tests.simulator.client import raw_client

UA = "DiscordBot (https://example.invalid, 1.0)"
UNAUTHORIZED = {"message": "401: Unauthorized", "code": 0}


async def test_revoke_refuses_rest_and_gateway_then_restore_accepts(sim: DiscordSimulator) -> None:
    headers = {"User-Agent": UA, "Authorization": f"Bot {sim.token}"}
    async with (
        httpx.AsyncClient(base_url=sim.api_base, headers=headers) as http,
        raw_client(sim.gateway_url) as open_client,
    ):
        await open_client.ready(sim.token)
        interaction = await sim.send_interaction(factory.command("draft"))
        assert not sim.token_revoked

        assert await sim.revoke_token() == 1
        assert sim.token_revoked
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await open_client.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4004
        assert sim.session(0) is None  # a 4004 ends the session

        me = await http.get("/users/@me")
        assert me.status_code == 401 and me.json() == UNAUTHORIZED
        bot = await http.get("/gateway/bot")
        assert bot.status_code == 401
        # the token routes carry no bot token: they still answer
        callback = await http.post(
            f"/interactions/{interaction['id']}/{interaction['token']}/callback",
            json={"type": 5},
            headers={"Authorization": ""},
        )
        assert callback.status_code == 204
        async with raw_client(sim.gateway_url) as client:
            await client.recv_op(10)
            await client.identify(sim.token)
            with pytest.raises(ConnectionClosed) as refused:
                await client.recv()
            assert refused.value.rcvd is not None and refused.value.rcvd.code == 4004

        sim.restore_token()
        assert not sim.token_revoked
        assert (await http.get("/users/@me")).status_code == 200
        async with raw_client(sim.gateway_url) as client:
            ready = await client.ready(sim.token)
            assert ready["t"] == "READY"


async def test_revoke_can_leave_open_connections_alone(sim: DiscordSimulator) -> None:
    async with raw_client(sim.gateway_url) as client:
        await client.ready(sim.token)
        assert await sim.revoke_token(close_gateway=False) == 0
        await sim.dispatch("GUILD_CREATE", {"id": "1"})
        dispatched = await client.recv_op(0)
        assert dispatched["t"] == "GUILD_CREATE"


async def test_oauth2_me_refuses_a_bot_token(sim: DiscordSimulator) -> None:
    headers = {"User-Agent": UA, "Authorization": f"Bot {sim.token}"}
    async with httpx.AsyncClient(base_url=sim.api_base, headers=headers) as http:
        answer = await http.get("/oauth2/@me")
        me = await http.get("/users/@me")
    assert answer.status_code == 401 and answer.json() == UNAUTHORIZED
    assert me.status_code == 200  # the token itself is fine
