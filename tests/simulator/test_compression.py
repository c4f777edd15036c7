from __future__ import annotations

import pytest

from gateway.simulator import DiscordSimulator
from tests.simulator.client import ZLIB_SUFFIX, raw_client


@pytest.mark.parametrize("compress", ["zlib-stream", "zstd-stream"])
async def test_compressed_session_round_trip(sim: DiscordSimulator, compress: str) -> None:
    async with raw_client(sim.gateway_url, compress=compress) as client:
        ready = await client.ready(sim.token)
        big = {"blob": "x" * 50_000, "n": list(range(2000))}
        seq = await sim.dispatch("GUILD_CREATE", big)
        got = await client.recv()
        raw = await _raw_next(sim, client)
    assert ready["s"] == 1
    assert got["s"] == seq and got["d"] == big
    assert sim.connections[0].compress == compress
    if compress == "zlib-stream":
        assert raw.endswith(ZLIB_SUFFIX)


async def _raw_next(sim: DiscordSimulator, client: object) -> bytes:
    # One more dispatch read straight off the socket to look at the bytes themselves.
    await sim.dispatch("PING", {})
    ws = client.ws  # type: ignore[attr-defined]
    message = await ws.recv()
    assert isinstance(message, bytes)
    return message


async def test_zlib_messages_split_into_several_frames() -> None:
    async with DiscordSimulator(compressed_chunk_size=64, heartbeat_interval_ms=200) as sim:
        async with raw_client(sim.gateway_url, compress="zlib-stream") as client:
            await client.ready(sim.token)
            frames_before = client.frames
            data = {"text": "abcdefghij" * 500, "rand": [i * 7919 % 10007 for i in range(500)]}
            await sim.dispatch("MESSAGE_CREATE", data)
            got = await client.recv()
    assert got["d"] == data
    assert client.frames - frames_before > 1


async def test_unknown_compress_rejected_at_handshake(sim: DiscordSimulator) -> None:
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as info:
        async with raw_client(sim.gateway_url, compress="gzip"):
            pass
    assert info.value.response.status_code == 400
