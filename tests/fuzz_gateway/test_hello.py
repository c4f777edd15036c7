"""HELLO of the wrong shape: the shard names the cause, reconnects, and gets ready again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from gateway.connection import Shard, ShardStatus
from gateway.simulator import DiscordSimulator
from tests.gateway.conftest import eventually
from tests.support.campaigns.fuzz_gateway.raw import newest, send_json

pytestmark = pytest.mark.timeout(60)

MakeShard = Callable[..., Shard]


def opened(sim: DiscordSimulator, count: int) -> bool:
    return len(sim.connections) >= count


BAD_HELLOS: list[Any] = [
    {"op": 10},
    {"op": 10, "d": None},
    {"op": 10, "d": [41250]},
    {"op": 10, "d": {}},
    {"op": 10, "d": {"heartbeat_interval": 0}},
    {"op": 10, "d": {"heartbeat_interval": -41250}},
    {"op": 10, "d": {"heartbeat_interval": "41250"}},
    {"op": 10, "d": {"heartbeat_interval": True}},
    {"op": 10, "d": {"heartbeat_interval": None}},
    {"op": 10, "d": {"heartbeat_interval": [1]}},
    {"op": 10, "d": {"heartbeat_interval": 1e308 * 10}},  # inf: orjson refuses it
    [10, {"heartbeat_interval": 41250}],
    "hello",
    41250,
]


@pytest.mark.parametrize("compression", ["none", "zlib-stream", "zstd-stream"])
async def test_bad_hello_reconnects_with_the_cause_logged(
    sim: DiscordSimulator,
    make_shard: MakeShard,
    caplog: pytest.LogCaptureFixture,
    compression: str,
) -> None:
    caplog.set_level(logging.INFO, logger="gateway")
    shard = make_shard(sim, compression=compression)
    shard.start()
    await sim.wait_ready()
    await eventually(lambda: shard.status is ShardStatus.READY)
    for hello in BAD_HELLOS:
        caplog.clear()
        sim.withhold_hello(True)
        before = len(sim.connections)
        await sim.drop_connection()
        await sim.wait_for(partial(opened, sim, before + 1), what="a new connection")
        sim.withhold_hello(False)  # the next connection gets a real HELLO
        await send_json(newest(sim), hello)
        await sim.wait_for(partial(opened, sim, before + 2), what=f"after {hello}")
        await eventually(lambda: shard.status is ShardStatus.READY, what=repr(hello))
        text = "\n".join(r.getMessage() for r in caplog.records)
        assert "invalid HELLO" in text or "not HELLO" in text or "undecodable" in text, hello
        assert "unexpected error" not in text, hello
    assert len(sim.identifies) == 1  # every one of those was resumed


async def test_huge_heartbeat_interval_is_taken(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    """Discord decides the interval; an enormous one is odd, not invalid (no crash, no
    overflow in the heartbeat timer)."""
    sim.withhold_hello(True)
    shard = make_shard(sim)
    shard.start()
    await sim.wait_for(lambda: sim.connections, what="connection")
    await send_json(newest(sim), {"op": 10, "d": {"heartbeat_interval": 1e300}})
    await sim.wait_ready()
    await eventually(lambda: shard.status is ShardStatus.READY)
    assert len(sim.connections) == 1
