"""Decompression bombs and zlib frames never flushed: memory stays bounded, the shard resumes.

Each fault goes on a fresh connection whose HELLO is withheld, so a precomputed compressed
stream is valid from its first byte. Memory is read with tracemalloc (peak while the fault
is handled); MAX_INFLATED_BYTES is 64 MiB.
"""

from __future__ import annotations

import functools
import logging
import tracemalloc
import zlib
from collections.abc import Callable

import pytest
import zstandard

from gateway.connection import Shard, ShardStatus
from gateway.connection.compression import MAX_INFLATED_BYTES
from gateway.simulator import DiscordSimulator
from tests.gateway.conftest import eventually
from tests.support.campaigns.fuzz_gateway.raw import newest, send_frame

pytestmark = pytest.mark.timeout(60)

MakeShard = Callable[..., Shard]
BOMB_BYTES = 256 << 20  # what the bomb inflates to
BOUND = MAX_INFLATED_BYTES + (40 << 20)  # peak allowed while the fault is handled


@functools.cache
def bomb(compression: str) -> bytes:
    """One message, the first of a fresh stream, inflating to 256 MiB of spaces."""
    if compression == "zlib-stream":
        z = zlib.compressobj(9)
        out = z.compress(b" " * BOMB_BYTES) + z.flush(zlib.Z_SYNC_FLUSH)
    else:
        c = zstandard.ZstdCompressor().compressobj()
        out = c.compress(b" " * BOMB_BYTES) + c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    assert len(out) < 400_000  # "a small compressed frame"
    return out


async def _fresh_connection(sim: DiscordSimulator, shard: Shard) -> None:
    """Withhold HELLO, drop the connection; return once the new one is open."""
    before = len(sim.connections)
    sim.withhold_hello(True)
    await sim.drop_connection()
    await sim.wait_for(lambda: len(sim.connections) > before, what="reconnect")
    sim.withhold_hello(False)


async def _ready(sim: DiscordSimulator, make_shard: MakeShard, compression: str) -> Shard:
    shard = make_shard(sim, compression=compression)
    shard.start()
    await sim.wait_ready()
    await eventually(lambda: shard.status is ShardStatus.READY)
    return shard


@pytest.mark.parametrize("compression", ["zlib-stream", "zstd-stream"])
async def test_decompression_bomb_is_refused_with_bounded_memory(
    sim: DiscordSimulator,
    make_shard: MakeShard,
    caplog: pytest.LogCaptureFixture,
    compression: str,
) -> None:
    data = bomb(compression)
    shard = await _ready(sim, make_shard, compression)
    caplog.set_level(logging.INFO, logger="gateway")
    await _fresh_connection(sim, shard)
    tracemalloc.start()
    try:
        await send_frame(newest(sim), data)
        await sim.wait_for(lambda: sim.resumes, timeout=20, what="resume after the bomb")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    await eventually(lambda: shard.status is ShardStatus.READY)
    assert peak < BOUND, f"peak {peak >> 20} MiB while inflating a {len(data)} byte bomb"
    assert "corrupt frame" in caplog.text and "inflates past" in caplog.text


async def test_zlib_frames_never_flushed_are_bounded(
    sim: DiscordSimulator, make_shard: MakeShard, caplog: pytest.LogCaptureFixture
) -> None:
    """160 MiB of binary frames that never end with 00 00 ff ff: the join buffer is capped."""
    shard = await _ready(sim, make_shard, "zlib-stream")
    caplog.set_level(logging.INFO, logger="gateway")
    await _fresh_connection(sim, shard)
    chunk = bytes(range(256)) * 4096  # 1 MiB, no suffix
    conn = newest(sim)
    tracemalloc.start()
    try:
        for _ in range(160):
            if not conn.open:
                break
            await send_frame(conn, chunk)
        await sim.wait_for(lambda: not conn.open, timeout=20, what="client closes")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    await sim.wait_for(lambda: sim.resumes, what="resume")
    await eventually(lambda: shard.status is ShardStatus.READY)
    assert peak < BOUND, f"peak {peak >> 20} MiB"
    assert "corrupt frame" in caplog.text and "without a flush" in caplog.text
