"""A second connection on a held shard, as Discord treats it: the newer RESUME or IDENTIFY wins,
the older connection is closed, and the simulator records the takeover (live or not)."""

from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import ConnectionClosed

from gateway.simulator import DiscordSimulator
from tests.simulator.client import raw_client


async def _closed(client_ws: object) -> None:
    with pytest.raises(ConnectionClosed):
        while True:
            await client_ws.recv()  # type: ignore[attr-defined]


async def test_a_newer_resume_closes_the_live_connection_and_is_recorded_live() -> None:
    async with DiscordSimulator(heartbeat_interval_ms=1000, shards=2) as sim:
        async with raw_client(sim.gateway_url) as first:
            ready = await first.ready(sim.token, shard=[1, 2])
            session_id = ready["d"]["session_id"]
            await first.send({"op": 1, "d": 1})  # the old client is talking
            await first.recv_op(11)
            async with raw_client(sim.gateway_url) as second:
                await second.recv_op(10)
                resume = {"token": sim.token, "session_id": session_id, "seq": 1}
                await second.send({"op": 6, "d": resume})
                assert (await second.recv())["t"] == "RESUMED"
                await asyncio.wait_for(_closed(first.ws), 5)
        [takeover] = sim.takeovers
    assert takeover.shard == 1 and takeover.kind == "RESUME" and takeover.live
    assert takeover.old_connection == sim.connections[0].id
    assert takeover.new_connection == sim.connections[1].id
    assert sim.connections[0].close_code == 1006  # aborted, no close frame


async def test_a_newer_identify_wins_and_ends_the_older_session() -> None:
    async with DiscordSimulator(heartbeat_interval_ms=1000, shards=2) as sim:
        async with raw_client(sim.gateway_url) as first:
            old = (await first.ready(sim.token, shard=[0, 2]))["d"]["session_id"]
            async with raw_client(sim.gateway_url) as second:
                new = (await second.ready(sim.token, shard=[0, 2]))["d"]["session_id"]
                await asyncio.wait_for(_closed(first.ws), 5)
                assert sim.sessions[new].resumable and not sim.sessions[old].resumable
            async with raw_client(sim.gateway_url) as third:
                await third.recv_op(10)
                await third.send({"op": 6, "d": {"token": sim.token, "session_id": old, "seq": 1}})
                assert await third.recv() == {"op": 9, "d": False}
        assert [t.kind for t in sim.takeovers] == ["IDENTIFY"]


async def test_a_silent_client_taken_over_is_not_live() -> None:
    """A frozen client (no frame for longer than the live window) replaced by a RESUME: the
    takeover is recorded, with live=False; a connection already closed is no takeover."""
    async with DiscordSimulator(heartbeat_interval_ms=1000, live_window=0.2, shards=1) as sim:
        async with raw_client(sim.gateway_url) as first:
            session_id = (await first.ready(sim.token, shard=[0, 1]))["d"]["session_id"]
            await asyncio.sleep(0.3)
            async with raw_client(sim.gateway_url) as second:
                await second.recv_op(10)
                await second.send(
                    {"op": 6, "d": {"token": sim.token, "session_id": session_id, "seq": 1}}
                )
                assert (await second.recv())["t"] == "RESUMED"
            # the second closed with 1000 itself: a later client identifies afresh
        [takeover] = sim.takeovers
        assert not takeover.live and takeover.idle >= 0.3
        async with raw_client(sim.gateway_url) as third:
            await third.ready(sim.token, shard=[0, 1])
        assert len(sim.takeovers) == 1
