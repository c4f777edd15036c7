"""Three server processes (uvicorn, SHARD_IDS=auto), one real redis-server, the simulator in a
process of its own with 8 shards. Leases shortened to 3 s (SHARD_LEASE_SECONDS, test-only:
renewals every 1 s; bench/chaos.py --nodes runs the real 15 s).

- every shard held once, each node 2-3;
- SIGKILL a node: the others RESUME its shards (no IDENTIFY) within the lease and a renewal,
  and a survivor finishes the interactions it had acknowledged (X-Redelivery), none forwarded
  twice without it;
- SIGSTOP a node past its leases, then SIGCONT: it closes those shards without sending on
  them; the simulator never saw a connection taken from a live one;
- a rolling restart (SIGTERM and start again, node by node): no IDENTIFY, every interaction
  dispatched meanwhile acknowledged in time.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.harness.nodes import LEASE_SECONDS, Cluster
from tests.support.harness.redis_server import redis_server
from tests.support.harness.sim_process import SimProcess, sim_process
from tests.support.tools import require_tool

SHARDS = 8
RATE = 10.0  # interactions per second, over every shard
#: A takeover: the lease runs out, then the next look (at the expiry) and the RESUME.
TAKEOVER_WITHIN = LEASE_SECONDS + 2.0
FROZEN = 2 * LEASE_SECONDS + 1.0


@pytest.fixture
async def sim() -> AsyncIterator[SimProcess]:
    # the main app answers after 1.5 s: a SIGKILL finds forwards in flight
    async with sim_process(main_delay=1.5, heartbeat_ms=500, shards=SHARDS) as process:
        yield process


@pytest.fixture
async def cluster(sim: SimProcess, tmp_path: Path) -> AsyncIterator[Cluster]:
    async with redis_server(require_tool("redis-server")) as redis_url:
        nodes = Cluster(sim, redis_url, tmp_path, 3, shards=SHARDS)
        try:
            await nodes.start_all()
            await nodes.wait_balanced(timeout=30)
            yield nodes
        finally:
            await nodes.close()


async def _log_since(sim: SimProcess, since: float, kind: str) -> list[list[Any]]:
    rows = (await sim.call("gateway_log"))["rows"]
    return [r for r in rows if r[0] >= since and r[3] == kind]


async def _live_takeovers(sim: SimProcess) -> list[list[Any]]:
    return [row for row in (await sim.call("takeovers"))["rows"] if row[5]]


async def _settled(sim: SimProcess, ids: list[str], timeout: float = 30) -> dict[str, list[Any]]:
    """The verdict of each interaction once every acknowledged one reached the main app."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        verdict: dict[str, list[Any]] = (await sim.call("verdict", ids=ids))["rows"]
        forwarded = {row[0] for row in (await sim.call("forwards"))["rows"]}
        waiting = [i for i, row in verdict.items() if row[1] and i not in forwarded]
        if not waiting or loop.time() > deadline:
            assert waiting == [], f"acknowledged, never forwarded: {waiting}"
            return verdict
        await asyncio.sleep(0.2)


def _forwards_without_redelivery(rows: list[list[Any]]) -> Counter[str]:
    return Counter(row[0] for row in rows if row[1] is None)


async def test_every_shard_held_once_and_a_killed_nodes_shards_resumed_elsewhere(
    sim: SimProcess, cluster: Cluster
) -> None:
    held = await cluster.holdings()
    assert sorted(len(h) for h in held.values()) == [2, 3, 3], held
    assert (await sim.call("open_by_shard"))["open"] == {str(s): 1 for s in range(SHARDS)}
    assert (await sim.call("gateway"))["identifies"] == SHARDS  # each once, by one node

    await sim.call("stream_start", rate=RATE, shards=SHARDS)
    await asyncio.sleep(2.5)  # forwards in flight on every node (the main app takes 1.5 s)
    victim = cluster.nodes[1]
    lost = held[victim.name]
    killed_at = time.monotonic()
    cluster.kill(victim)
    survivors = [n for n in cluster.nodes if n is not victim]
    took = await cluster.wait_balanced(survivors, timeout=TAKEOVER_WITHIN + 10)
    await asyncio.sleep(2.0)
    sent = (await sim.call("stream_stop"))["ids"]

    resumed = {r[1]: r[0] - killed_at for r in await _log_since(sim, killed_at, "RESUMED")}
    assert set(lost) <= set(resumed), (lost, resumed)
    assert max(resumed[s] for s in lost) < TAKEOVER_WITHIN, resumed
    assert took < TAKEOVER_WITHIN + 1, took
    assert await _log_since(sim, killed_at, "IDENTIFY") == []
    assert await _live_takeovers(sim) == []

    ids = [row[0] for row in sent]
    verdict = await _settled(sim, ids)
    forwards = (await sim.call("forwards"))["rows"]
    redelivered = {row[0] for row in forwards if row[1] == "1"}
    assert redelivered, "the killed node had forwards in flight: a survivor redelivers them"
    assert all(verdict[i][1] for i in redelivered)  # only what had been acknowledged
    assert {verdict[i][0] for i in redelivered} <= set(lost)  # the killed node's shards
    twice = [i for i, n in _forwards_without_redelivery(forwards).items() if n > 1]
    assert twice == []
    # what waited for the takeover longer than 3 s is never answered (Discord refuses it)
    assert not any(row[3] and row[2] for row in verdict.values())
    # /health/detailed: live nodes, who holds what, lease ages; /metrics: leases, takeovers
    details = [(await cluster.detailed(n)) or {} for n in survivors]
    leases = [d["discord"]["leases"] for d in details]
    assert sum(lease["stats"]["takeovers"] for lease in leases) == len(lost)
    live = {lease["node"] for lease in leases}
    assert all(set(lease["live_nodes"]) == live for lease in leases)
    holders = leases[0]["holders"]
    assert set(holders) == live and sorted(s for h in holders.values() for s in h) == list(
        range(SHARDS)
    )
    ages = [held["held_s"] for lease in leases for held in lease["leases"]]
    assert len(ages) == SHARDS and all(age >= 0 for age in ages)
    figures = [await cluster.metrics(n) for n in survivors]
    assert sum(f["gateway_shard_leases_held"] for f in figures) == SHARDS
    assert sum(f["gateway_shard_lease_takeovers_total"] for f in figures) == len(lost)
    assert all(f["gateway_live_nodes"] == 2 for f in figures)


async def test_a_frozen_node_closes_its_shards_without_sending_when_it_wakes(
    sim: SimProcess, cluster: Cluster
) -> None:
    frozen = cluster.nodes[0]
    before = await cluster.detailed(frozen)
    assert before is not None
    node_id = before["discord"]["leases"]["node"]
    shards = [lease["shard_id"] for lease in before["discord"]["leases"]["leases"]]
    rows = (await sim.call("gateway_log"))["rows"]
    old_connections = {r[2] for r in rows if r[3] in ("READY", "RESUMED") and r[1] in shards}
    frozen_at = time.monotonic()
    frozen.signal(signal.SIGSTOP)
    try:
        others = [n for n in cluster.nodes if n is not frozen]
        await cluster.wait_balanced(others, timeout=TAKEOVER_WITHIN + 10)
        # frozen for more than twice the lease (30 s against the real 15 s lease)
        await asyncio.sleep(max(0.0, frozen_at + FROZEN - time.monotonic()))
    finally:
        frozen.signal(signal.SIGCONT)
    woke_at = time.monotonic()
    await cluster.wait_balanced(timeout=20)  # it rejoins: shards handed back to it

    after = await cluster.detailed(frozen)
    assert after is not None
    assert after["discord"]["leases"]["node"] == node_id
    assert after["discord"]["leases"]["stats"]["lost"] == len(shards)
    events = (await sim.call("gateway_log"))["rows"]
    assert await _live_takeovers(sim) == []
    # nothing came from its old connections after it froze
    frames = [e for e in events if e[2] in old_connections and e[0] > frozen_at]
    assert [e for e in frames if e[3] not in ("close", "drop")] == [], frames
    output = cluster.output(frozen)
    closed = [line for line in output.splitlines() if "lease" in line and "closed" in line]
    assert len(closed) >= len(shards), output[-3000:]
    assert woke_at - frozen_at >= FROZEN


async def test_a_rolling_restart_never_identifies_and_acknowledges_everything_in_time(
    sim: SimProcess, cluster: Cluster
) -> None:
    identifies = (await sim.call("gateway"))["identifies"]
    await sim.call("stream_start", rate=RATE, shards=SHARDS)
    for node in cluster.nodes:
        assert await cluster.terminate(node) in (0, -signal.SIGTERM)  # uvicorn re-raises it
        assert "Application shutdown complete" in cluster.output(node)
        await cluster.wait_balanced([n for n in cluster.nodes if n is not node], timeout=10)
        await cluster.start(node)
        await cluster.wait_balanced(timeout=20)
    await asyncio.sleep(1.0)
    sent = (await sim.call("stream_stop"))["ids"]
    assert (await sim.call("gateway"))["identifies"] == identifies
    assert await _live_takeovers(sim) == []
    ids = [row[0] for row in sent]
    verdict = await _settled(sim, ids)
    late = [i for i, row in verdict.items() if not row[1]]
    assert late == [], f"{len(late)} of {len(ids)} not acknowledged in time"
    forwards = (await sim.call("forwards"))["rows"]
    assert [i for i, n in _forwards_without_redelivery(forwards).items() if n > 1] == []
