from __future__ import annotations

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from gateway.simulator import DiscordSimulator
from tests.simulator.client import raw_client

UA = {"User-Agent": "DiscordBot (https://example.invalid, 1.0)"}


async def test_hello_identify_ready(sim: DiscordSimulator) -> None:
    async with raw_client(sim.gateway_url) as client:
        hello = await client.recv()
        assert hello == {"op": 10, "d": {"heartbeat_interval": 200}}
        await client.identify(sim.token, shard=[0, 1])
        ready = await client.recv()
    assert ready["op"] == 0 and ready["t"] == "READY" and ready["s"] == 1
    d = ready["d"]
    assert d["v"] == 10 and d["guilds"] == [] and d["shard"] == [0, 1]
    assert d["application"] == {"id": sim.application_id, "flags": 0}
    assert d["resume_gateway_url"] == sim.gateway_url + "/resume"
    assert d["session_id"] in sim.sessions
    assert len(sim.identifies) == 1 and sim.identifies[0].payload["d"]["token"] == sim.token
    conn = sim.connections[0]
    assert conn.kind == "gateway" and conn.query == {"v": "10", "encoding": "json"}
    assert "sec-websocket-extensions" not in conn.headers


async def test_heartbeat_ack_and_recording(sim: DiscordSimulator) -> None:
    async with raw_client(sim.gateway_url) as client:
        await client.ready(sim.token)
        await client.send({"op": 1, "d": 1})
        ack = await client.recv()
    assert ack == {"op": 11}
    assert [h.payload["d"] for h in sim.heartbeats] == [1]
    assert sim.heartbeats[0].shard == 0


async def test_dispatch_sequence_and_resume_replay(sim: DiscordSimulator) -> None:
    async with raw_client(sim.gateway_url) as client:
        ready = await client.ready(sim.token)
        session_id = ready["d"]["session_id"]
        first = await sim.dispatch("GUILD_CREATE", {"id": "1"})
        got = await client.recv()
        assert first == 2 and got["s"] == 2 and got["t"] == "GUILD_CREATE"
        await client.ws.close(4000, "resume later")  # 1000 would end the session
    await sim.wait_for(lambda: sim.session() is not None and sim.session().connection is None)  # type: ignore[union-attr]
    missed = [await sim.dispatch("MESSAGE_CREATE", {"n": n}) for n in range(3)]
    assert missed == [3, 4, 5]
    async with raw_client(sim.gateway_url, path="/resume/") as client:
        await client.recv_op(10)
        await client.send({"op": 6, "d": {"token": sim.token, "session_id": session_id, "seq": 2}})
        replayed = [await client.recv() for _ in range(4)]
        assert [p["s"] for p in replayed] == [3, 4, 5, 6]
        assert [p["d"]["n"] for p in replayed[:3]] == [0, 1, 2]
        assert replayed[3]["t"] == "RESUMED"
        live = await sim.dispatch("TYPING_START", {})
        assert (await client.recv())["s"] == live == 7
    assert sim.connections[1].kind == "resume"
    assert len(sim.resumes) == 1


async def test_resume_unknown_session_gets_op9_false(sim: DiscordSimulator) -> None:
    async with raw_client(sim.gateway_url) as client:
        await client.recv_op(10)
        await client.send({"op": 6, "d": {"token": sim.token, "session_id": "nope", "seq": 0}})
        assert await client.recv() == {"op": 9, "d": False}


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"op": 2, "d": {"token": "wrong", "intents": 1, "properties": {}}}, 4004),
        ({"op": 2, "d": {"token": "T", "intents": 1 << 1, "properties": {}}}, 4014),
        ({"op": 2, "d": {"token": "T", "intents": 1 << 40, "properties": {}}}, 4013),
        ({"op": 2, "d": {"token": "T", "intents": 1, "shard": [2, 2]}}, 4010),
        ({"op": 3, "d": {"status": "online"}}, 4003),
        ({"op": 99, "d": None}, 4001),
    ],
)
async def test_identify_close_codes(sim: DiscordSimulator, payload: dict, code: int) -> None:  # type: ignore[type-arg]
    if payload["d"] and payload["d"].get("token") == "T":
        payload["d"]["token"] = sim.token
    async with raw_client(sim.gateway_url) as client:
        await client.recv_op(10)
        await client.send(payload)
        with pytest.raises(ConnectionClosed) as info:
            await client.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == code


async def test_gateway_bot(sim: DiscordSimulator) -> None:
    headers = {**UA, "Authorization": f"Bot {sim.token}"}
    async with httpx.AsyncClient() as http:
        res = await http.get(sim.api_base + "/gateway/bot", headers=headers)
    assert res.status_code == 200
    body = res.json()
    assert body["url"] == sim.gateway_url and body["shards"] == 1
    assert body["session_start_limit"]["remaining"] == 1000
    assert body["session_start_limit"]["max_concurrency"] == 1
    assert res.headers["X-RateLimit-Limit"] == "5"
    assert sim.rest.requests[0].path == "/gateway/bot"
