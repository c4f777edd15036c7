"""The simulator's behaviours for checklist 15-19, seen from a raw WebSocket client."""

from __future__ import annotations

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from gateway.simulator import DiscordSimulator
from tests.simulator.client import raw_client

UA = {"User-Agent": "DiscordBot (https://example.invalid, 1.0)"}


async def test_ready_numbered_from_zero_then_one() -> None:
    async with DiscordSimulator(ready_seq_zero=True) as sim:
        async with raw_client(sim.gateway_url) as client:
            assert (await client.ready(sim.token))["s"] == 0
            await sim.dispatch("NEXT", {})
            assert (await client.recv())["s"] == 1


async def test_an_ignored_resume_gets_no_answer_the_next_one_does(sim: DiscordSimulator) -> None:
    async with raw_client(sim.gateway_url) as client:
        ready = await client.ready(sim.token)
        await client.ws.close(4900)  # not 1000: the session stays resumable
    resume = {"token": sim.token, "session_id": ready["d"]["session_id"], "seq": 1}
    sim.ignore_resumes(1)
    async with raw_client(sim.gateway_url, path="/resume") as client:
        await client.recv_op(10)
        await client.send({"op": 6, "d": resume})
        with pytest.raises(TimeoutError):
            await client.recv(timeout=0.3)
    async with raw_client(sim.gateway_url, path="/resume") as client:
        await client.recv_op(10)
        await client.send({"op": 6, "d": resume})
        assert (await client.recv())["t"] == "RESUMED"


async def test_refused_resume_host_answers_503_and_the_gateway_url_still_works(
    sim: DiscordSimulator,
) -> None:
    sim.refuse_resume_host()
    with pytest.raises(InvalidStatus) as info:
        async with raw_client(sim.gateway_url, path="/resume"):
            pass
    assert info.value.response.status_code == 503
    assert len(sim.refused) == 1
    async with raw_client(sim.gateway_url) as client:
        await client.ready(sim.token)


async def test_require_shards_closes_4011_and_recommends_the_new_count() -> None:
    async with DiscordSimulator(shards=1) as sim:
        async with raw_client(sim.gateway_url) as client:
            await client.ready(sim.token, shard=[0, 1])
            assert await sim.require_shards(2) == 1
            with pytest.raises(ConnectionClosed) as info:
                await client.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 4011
        async with raw_client(sim.gateway_url) as client:  # an old count: 4011 again
            await client.recv_op(10)
            await client.identify(sim.token, shard=[0, 1])
            with pytest.raises(ConnectionClosed) as info:
                await client.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 4011
        async with httpx.AsyncClient() as http:
            got = await http.get(
                f"{sim.api_base}/gateway/bot", headers={"Authorization": f"Bot {sim.token}", **UA}
            )
        assert got.json()["shards"] == 2
        async with raw_client(sim.gateway_url) as client:
            await client.ready(sim.token, shard=[1, 2])
