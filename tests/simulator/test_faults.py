from __future__ import annotations

import asyncio
import zlib

import orjson
import pytest
import zstandard
from websockets.exceptions import ConnectionClosed, InvalidStatus

from gateway.simulator import DiscordSimulator, NoConnectionError, NoSessionError
from tests.simulator.client import raw_client


async def _closed_code(client_recv: object) -> int | None:
    with pytest.raises(ConnectionClosed) as info:
        await client_recv  # type: ignore[misc]
    return info.value.rcvd.code if info.value.rcvd is not None else None


async def test_drop_connection_has_no_close_frame_and_keeps_session(sim: DiscordSimulator) -> None:
    async with raw_client(sim.gateway_url) as client:
        await client.ready(sim.token)
        assert await sim.drop_connection() == 1
        assert await _closed_code(client.recv()) is None
    await sim.wait_for(lambda: sim.connections[0].closed_at is not None)
    assert sim.connections[0].closed_by == "transport"
    session = sim.session()
    assert session is not None and session.connection is None
    assert await sim.dispatch("BUFFERED", {}) == 2  # kept for the resume


async def test_server_close_with_any_code(sim: DiscordSimulator) -> None:
    async with raw_client(sim.gateway_url) as client:
        await client.ready(sim.token)
        await sim.close(4000, "Unknown error")
        assert await _closed_code(client.recv()) == 4000
    assert sim.session() is not None  # 4000 keeps the session resumable
    assert [e.payload["code"] for e in sim.sent("close")] == [4000]


async def test_invalidating_close_ends_session(sim: DiscordSimulator) -> None:
    async with raw_client(sim.gateway_url) as client:
        await client.ready(sim.token)
        await sim.close(4009, "Session timed out")
        assert await _closed_code(client.recv()) == 4009
    await sim.wait_for(lambda: sim.session() is None)
    with pytest.raises(NoSessionError):
        await sim.dispatch("X", {})


async def test_client_close_1000_ends_session_4000_keeps_it(sim: DiscordSimulator) -> None:
    async with raw_client(sim.gateway_url) as client:
        await client.ready(sim.token)
        await client.ws.close(4000)
    await sim.wait_for(lambda: sim.connections[0].closed_at is not None)
    assert sim.connections[0].close_code == 4000 and sim.session() is not None
    async with raw_client(sim.gateway_url) as client:
        await client.ready(sim.token)
    await sim.wait_for(lambda: sim.connections[1].closed_at is not None)
    assert sim.connections[1].close_code == 1000 and sim.session() is None


async def test_stop_acking_then_resume_acking(sim: DiscordSimulator) -> None:
    async with raw_client(sim.gateway_url) as client:
        await client.ready(sim.token)
        sim.stop_acking()
        await client.send({"op": 1, "d": 1})
        await sim.wait_for(lambda: len(sim.heartbeats) == 1)
        with pytest.raises(TimeoutError):
            await client.recv(timeout=0.2)
        sim.stop_acking(False)
        await client.send({"op": 1, "d": 1})
        assert await client.recv() == {"op": 11}
    assert len(sim.sent("HEARTBEAT_ACK")) == 1


async def test_withhold_hello_and_ready(sim: DiscordSimulator) -> None:
    sim.withhold_hello()
    async with raw_client(sim.gateway_url) as client:
        with pytest.raises(TimeoutError):
            await client.recv(timeout=0.2)
    sim.withhold_hello(False)
    sim.withhold_ready()
    async with raw_client(sim.gateway_url) as client:
        await client.recv_op(10)
        await client.identify(sim.token)
        await sim.wait_for(lambda: len(sim.identifies) == 1)
        with pytest.raises(TimeoutError):
            await client.recv(timeout=0.2)
    assert sim.sent("READY") == [] and sim.sent("ready_withheld")


async def test_send_garbage_text_and_binary(sim: DiscordSimulator) -> None:
    async with raw_client(sim.gateway_url) as client:
        await client.ready(sim.token)
        await sim.send_garbage("text")
        text = await client.ws.recv()
        await sim.send_garbage("binary")
        junk = await client.ws.recv()
    assert isinstance(text, str)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)
    assert isinstance(junk, bytes) and junk.startswith(b"\x00\xff")


@pytest.mark.parametrize("compress", ["zlib-stream", "zstd-stream", None])
async def test_corrupt_next_frame(sim: DiscordSimulator, compress: str | None) -> None:
    async with raw_client(sim.gateway_url, compress=compress) as client:
        await client.ready(sim.token)
        sim.corrupt_next_frame()
        await sim.dispatch("CORRUPTED", {"x": 1})
        errors = (zlib.error, zstandard.ZstdError, orjson.JSONDecodeError)
        with pytest.raises(errors):
            await client.recv()
    assert sim.sent("corrupt")


async def test_op7_op9_and_op1(sim: DiscordSimulator) -> None:
    async with raw_client(sim.gateway_url) as client:
        await client.ready(sim.token)
        await sim.reconnect_op7()
        assert await client.recv() == {"op": 7, "d": None}
        await sim.request_heartbeat()
        assert await client.recv() == {"op": 1, "d": 1}
        await sim.invalid_session(resumable=True)
        assert await client.recv() == {"op": 9, "d": True}
        assert sim.session() is not None
        await sim.invalid_session(resumable=False)
        assert await client.recv() == {"op": 9, "d": False}
        assert sim.session() is None


async def test_refuse_connections_until_accepted(sim: DiscordSimulator) -> None:
    sim.refuse_connections()
    for _ in range(2):
        with pytest.raises(InvalidStatus) as info:
            async with raw_client(sim.gateway_url):
                pass
        assert info.value.response.status_code == 503
    assert len(sim.refused) == 2
    sim.accept_connections()
    async with raw_client(sim.gateway_url) as client:
        await client.ready(sim.token)


async def test_refuse_connections_for_some_seconds(sim: DiscordSimulator) -> None:
    sim.refuse_connections(0.1)
    assert sim.gateway.refusing is not None
    await sim.wait_for(lambda: sim.gateway.refusing is None, timeout=2)


async def test_fault_without_connection_raises(sim: DiscordSimulator) -> None:
    with pytest.raises(NoConnectionError):
        await sim.drop_connection()


async def test_send_rate_limit_closes_4008() -> None:
    async with DiscordSimulator(send_limit=5, send_window=60.0) as sim:
        async with raw_client(sim.gateway_url) as client:
            await client.ready(sim.token)  # identify is send 1
            for _ in range(5):
                await client.send({"op": 3, "d": {"status": "online", "activities": []}})
            assert await _closed_code(client.recv()) == 4008
        assert len(sim.presences) == 4


async def test_payload_too_large_4002_and_double_identify_4005(sim: DiscordSimulator) -> None:
    async with raw_client(sim.gateway_url) as client:
        await client.ready(sim.token)
        await client.send({"op": 3, "d": {"pad": "x" * 5000}})
        assert await _closed_code(client.recv()) == 4002
    async with raw_client(sim.gateway_url) as client:
        await client.ready(sim.token)
        await client.identify(sim.token)
        assert await _closed_code(client.recv()) == 4005


async def test_wrong_version_4012(sim: DiscordSimulator) -> None:
    async with raw_client(sim.gateway_url, query="v=9&encoding=json") as client:
        assert await _closed_code(client.recv()) == 4012


async def test_session_start_limit_exhausted() -> None:
    async with DiscordSimulator(session_start_remaining=1) as sim:
        async with raw_client(sim.gateway_url) as client:
            await client.ready(sim.token)
        async with raw_client(sim.gateway_url) as client:
            await client.recv_op(10)
            await client.identify(sim.token)
            assert await client.recv() == {"op": 9, "d": False}
        assert sim.gateway.start_limit()["remaining"] == 0


async def test_identify_rate_per_bucket_recorded_and_enforced() -> None:
    async with DiscordSimulator(
        shards=4, max_concurrency=2, identify_interval=60.0, enforce_identify_rate=True
    ) as sim:
        for shard in range(2):  # buckets 0 and 1: both allowed
            async with raw_client(sim.gateway_url) as client:
                await client.ready(sim.token, shard=[shard, 4])
        assert sim.identify_violations == []
        async with raw_client(sim.gateway_url) as client:  # bucket 0 again, too soon
            await client.recv_op(10)
            await client.identify(sim.token, shard=[2, 4])
            assert await client.recv() == {"op": 9, "d": False}
        assert [v.shard for v in sim.identify_violations] == [2]


async def test_dispatch_targets_each_shard() -> None:
    async with DiscordSimulator(shards=2, max_concurrency=2) as sim:
        async with raw_client(sim.gateway_url) as c0, raw_client(sim.gateway_url) as c1:
            await c0.ready(sim.token, shard=[0, 2])
            await c1.ready(sim.token, shard=[1, 2])
            await sim.dispatch("TO_ONE", {}, shard_id=1)
            got = await c1.recv()
            assert got["t"] == "TO_ONE" and got["s"] == 2
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(c0.recv(), 0.1)


async def test_refuse_connections_at_tcp_level(sim: DiscordSimulator) -> None:
    async with raw_client(sim.gateway_url) as survivor:
        await survivor.ready(sim.token)
        sim.refuse_connections(tcp=True)
        with pytest.raises(OSError):
            async with raw_client(sim.gateway_url):
                pass
        sim.accept_connections()
        await sim.wait_accepting()
        async with raw_client(sim.gateway_url) as client:
            assert (await client.recv())["op"] == 10
        await survivor.send({"op": 1, "d": 1})  # the open connection was never touched
        assert await survivor.recv() == {"op": 11}
