"""Checklist 19: close 4011 reshards by itself unless SHARD_COUNT is pinned."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from gateway.connection import GatewayManager
from gateway.simulator import DiscordSimulator

pytestmark = pytest.mark.timeout(60)

MakeSim = Callable[..., Awaitable[DiscordSimulator]]
MakeManager = Callable[..., GatewayManager]


async def test_19_sharding_required_restarts_every_shard_with_the_recommended_count(
    make_sim: MakeSim, make_manager: MakeManager
) -> None:
    sim = await make_sim(shards=2)
    statuses: list[str] = []
    notices: list[str] = []
    mgr = make_manager(sim)
    mgr.on_status(lambda status, reason: statuses.append(status))
    mgr.on_notice(notices.append)
    await mgr.start()
    await asyncio.wait_for(mgr.wait_for("ready"), 5)
    assert [s.shard_count for s in mgr.shards] == [2, 2]
    statuses.clear()

    assert await sim.require_shards(4) == 2  # both connections closed with 4011
    await asyncio.wait_for(mgr.wait_for("connecting"), 5)
    await asyncio.wait_for(mgr.wait_for("ready"), 10)
    assert [(s.shard_id, s.shard_count) for s in mgr.shards] == [(i, 4) for i in range(4)]
    assert "failed" not in statuses and mgr.failure_reason is None
    counts = [e.payload["d"]["shard"] for e in sim.identifies]
    assert counts[:2] == [[0, 2], [1, 2]] or counts[:2] == [[1, 2], [0, 2]]
    assert sorted(c[0] for c in counts[2:]) == [0, 1, 2, 3] and all(c[1] == 4 for c in counts[2:])
    assert sim.resumes == []  # sessions of the old count are not resumed
    assert notices and "4011" in notices[0]


async def test_19_sharding_required_is_fatal_when_the_count_is_pinned(
    make_sim: MakeSim, make_manager: MakeManager
) -> None:
    sim = await make_sim(shards=1)
    mgr = make_manager(sim, shard_count=1)
    await mgr.start()
    await asyncio.wait_for(mgr.wait_for("ready"), 5)
    await sim.require_shards(2)
    await asyncio.wait_for(mgr.wait_for("failed"), 5)
    assert mgr.failure_reason is not None and "sharding required" in mgr.failure_reason
    await asyncio.sleep(0.1)  # a negative check: room for a (wrong) retry to show up
    assert len(sim.identifies) == 1  # no retry
