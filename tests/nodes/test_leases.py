"""Shard leases in one process (three GatewayManagers, one simulator, a real redis-server):
taken once each and balanced, handed over on stop with a RESUME, taken over after a node
stops renewing, and fenced: a shard whose lease is gone closes before its next send. The
same with real processes and signals: test_three_nodes.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import NoReturn

import pytest
import redis.asyncio as aioredis

from gateway.connection import GatewayConfig, GatewayManager, ShardStatus
from gateway.connection.lease import LeaseTimings
from gateway.connection.leases import ShardLeases
from gateway.simulator import DiscordSimulator
from tests.support.harness.redis_server import redis_server
from tests.support.harness.shards import FAST, fetcher
from tests.support.tools import require_tool
from tests.support.waiting import eventually

SHARDS = 8
TIMINGS = LeaseTimings.scaled(1.5)  # renewals every 0.5 s, settle 0.2 s


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    async with redis_server(require_tool("redis-server")) as url:
        yield url


@pytest.fixture
async def sim() -> AsyncIterator[DiscordSimulator]:
    async with DiscordSimulator(
        shards=SHARDS, max_concurrency=16, heartbeat_interval_ms=300
    ) as simulator:
        yield simulator


class Node:
    def __init__(
        self, sim: DiscordSimulator, redis_url: str, shard_count: int | None = SHARDS
    ) -> None:
        self.client = aioredis.Redis.from_url(redis_url)
        self.leases = ShardLeases(self.client, timings=TIMINGS, shard_count=shard_count)
        config = GatewayConfig(
            token=sim.token,
            intents=1,
            compression="none",
            shard_count=shard_count,
            redis_url=redis_url,
            leases=self.leases,
        )
        self.manager = GatewayManager(config, fetcher(sim), timings=FAST)
        #: on_shard calls: (shard, held, its shard running then, its lease held then)
        self.told: list[tuple[int, bool, bool, bool]] = []
        self.leases.on_shard(self._told)

    async def _told(self, shard: int, held: bool) -> None:
        self.told.append((shard, held, shard in self.held(), shard in self.leases.held))

    def held(self) -> set[int]:
        return {s.shard_id for s in self.manager.shards}

    def ready(self) -> set[int]:
        return {s.shard_id for s in self.manager.shards if s.status is ShardStatus.READY}

    async def close(self) -> None:
        await self.manager.stop()
        await self.client.aclose()


def _balanced(nodes: list[Node]) -> bool:
    held = [n.ready() for n in nodes]
    every = [s for h in held for s in h]
    sizes = [len(h) for h in held]
    return sorted(every) == list(range(SHARDS)) and max(sizes) - min(sizes) <= 1


@pytest.fixture
async def nodes(sim: DiscordSimulator, redis_url: str) -> AsyncIterator[list[Node]]:
    async with AsyncExitStack() as stack:
        started = [Node(sim, redis_url) for _ in range(3)]
        for node in started:
            stack.push_async_callback(node.close)
        await asyncio.gather(*(n.manager.start() for n in started))
        await eventually(lambda: _balanced(started), 15, "three nodes balanced")
        yield started


async def test_three_nodes_hold_every_shard_once_balanced(
    sim: DiscordSimulator, nodes: list[Node]
) -> None:
    assert sorted(len(n.held()) for n in nodes) == [2, 3, 3]
    # each taken shard told before it started (its lease already held)
    assert all((s, True, False, True) in n.told for n in nodes for s in n.held())
    assert all(not running and lease for n in nodes for _, held, running, lease in n.told if held)
    assert len(sim.identifies) == SHARDS  # each shard identified once: no shard taken twice
    assert [t for t in sim.takeovers if t.live] == []
    expected = {n.leases.node: sorted(n.held()) for n in nodes}
    # the view of the next heartbeat (each node reads it before it takes anything)
    await eventually(lambda: nodes[0].leases.snapshot()["holders"] == expected, 5)
    snapshot = nodes[0].leases.snapshot()
    assert sorted(snapshot["live_nodes"]) == sorted(expected)
    assert [lease["shard_id"] for lease in snapshot["leases"]] == expected[nodes[0].leases.node]


async def test_a_stopped_node_hands_over_at_once_with_resumes(
    sim: DiscordSimulator, nodes: list[Node]
) -> None:
    leaving, *staying = nodes
    gone = leaving.held()
    resumes = len(sim.resumes)
    loop = asyncio.get_running_loop()
    started = loop.time()
    told_before = [len(n.told) for n in staying]
    await leaving.close()
    await eventually(lambda: _balanced(staying), 5, "the two others hold everything")
    took = loop.time() - started
    assert took < 1.0, took
    assert len(sim.identifies) == SHARDS  # no IDENTIFY: every hand-over RESUMEd
    assert len(sim.resumes) - resumes == len(gone)
    assert sum(n.leases.stats.handovers for n in staying) == len(gone)
    assert [t for t in sim.takeovers if t.live] == []
    # told once stopped, before the lease went; the takers before they resumed
    given = [(s, running, lease) for s, held, running, lease in leaving.told if not held]
    assert sorted(given) == [(s, True, True) for s in sorted(gone)]
    taken = [t for n, k in zip(staying, told_before, strict=True) for t in n.told[k:]]
    assert sorted(taken) == [(s, True, False, True) for s in sorted(gone)]


async def test_a_node_that_cannot_renew_closes_its_shards_before_they_are_taken_over(
    sim: DiscordSimulator, nodes: list[Node]
) -> None:
    """A node cut off from Redis (every renewal fails): it closes each of its shards at the
    lease's local deadline (ttl - margin), before the lease expires in Redis; the others take
    them once it has, by RESUME. No connection was ever taken over from under it."""
    cut_off, *others = nodes
    shards = cut_off.held()

    async def unreachable(*args: object, **kwargs: object) -> NoReturn:
        raise aioredis.ConnectionError("cut off")

    cut_off.leases.store.heartbeat = unreachable  # type: ignore[method-assign]
    loop = asyncio.get_running_loop()
    started = loop.time()
    await eventually(lambda: _balanced(others), TIMINGS.ttl + 5, "taken over")
    took = loop.time() - started
    assert took < TIMINGS.ttl + TIMINGS.renew, took
    assert len(sim.identifies) == SHARDS
    assert sum(n.leases.stats.takeovers for n in others) == len(shards)
    assert cut_off.held() == set() and cut_off.leases.stats.lost == len(shards)
    assert sim.takeovers == []  # each old connection had closed before its shard was taken


async def test_close_4011_reshards_every_node_to_the_count_discord_recommends(
    redis_url: str,
) -> None:
    """SHARD_COUNT not pinned: Discord closes the shards with 4011 and recommends 4 instead of
    2; the nodes agree on 4 in Redis and each runs its share of the new shards, none twice."""
    async with AsyncExitStack() as stack:
        sim = await stack.enter_async_context(
            DiscordSimulator(shards=2, max_concurrency=16, heartbeat_interval_ms=300)
        )
        two = [Node(sim, redis_url, shard_count=None) for _ in range(2)]
        for node in two:
            stack.push_async_callback(node.close)
        await asyncio.gather(*(n.manager.start() for n in two))

        def ready(count: int) -> bool:
            shards = [s for n in two for s in n.manager.shards]
            every = sorted(s.shard_id for s in shards if s.status is ShardStatus.READY)
            return every == list(range(count)) and all(s.shard_count == count for s in shards)

        await eventually(lambda: ready(2), 15, "two shards ready")
        before = len(sim.identifies)
        assert await sim.require_shards(4) == 2  # both closed with 4011
        await eventually(lambda: ready(4), 20, "four shards ready, each once")
        assert all(n.leases.shard_count == 4 for n in two)
        assert sorted(len(n.held()) for n in two) == [2, 2]
        new = [e.payload["d"]["shard"] for e in sim.identifies[before:]]
        assert sorted(new) == [[i, 4] for i in range(4)]  # each new shard identified once
        assert [t for t in sim.takeovers if t.live] == []  # never two nodes on one shard
        assert all(n.manager.failure_reason is None for n in two)
