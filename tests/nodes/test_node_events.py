"""Gateway events with several server processes (SHARD_IDS=auto, one real redis-server, the
simulator in its own process; EVENT_FORWARDS MESSAGE_CREATE, the main app slow so that every
node has events pending):

- SIGKILL a node: the survivors that take its shards deliver the events pending on them, each
  under the id it had, in each guild's order (the RESUME of a shard journals nothing twice);
- SIGKILL every node and start them again: each pending event is delivered by one node only
  (the one that takes its shard; a node loads no shard's events at start).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.harness.nodes import LEASE_SECONDS, Cluster
from tests.support.harness.nodes_ops import EVENTS_PATH
from tests.support.harness.redis_server import redis_server
from tests.support.harness.sim_process import SimProcess, sim_process
from tests.support.tools import require_tool

SHARDS = 6
RATE = 30.0  # MESSAGE_CREATE per second, over 2 guilds of every shard
SLOW = 3.0  # the main app's answer while events pile up (s)
#: The log line of a node that took a shard's pending events with its lease.
TAKEN = re.compile(r"events: (\d+) pending of shard \d+ taken over")


@pytest.fixture
async def sim() -> AsyncIterator[SimProcess]:
    async with sim_process(heartbeat_ms=500, shards=SHARDS) as process:
        yield process


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    async with redis_server(require_tool("redis-server")) as url:
        yield url


def cluster(sim: SimProcess, redis_url: str, root: Path, count: int) -> Cluster:
    return Cluster(
        sim,
        redis_url,
        root,
        count,
        shards=SHARDS,
        EVENT_FORWARDS='{"MESSAGE_CREATE": {}}',
        EVENTS_URL=sim.main_base + EVENTS_PATH,
    )


async def _deliveries(sim: SimProcess) -> list[list[Any]]:
    rows: list[list[Any]] = (await sim.call("event_deliveries"))["rows"]
    return rows


async def _all_delivered(sim: SimProcess, messages: set[str], timeout: float = 40) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        missing = messages - {row[1] for row in await _deliveries(sim)}
        if not missing or loop.time() > deadline:
            assert missing == set(), f"{len(missing)} of {len(messages)} never delivered"
            return
        await asyncio.sleep(0.2)


def _taken(text: str) -> int:
    return sum(int(count) for count in TAKEN.findall(text))


async def test_a_killed_nodes_pending_events_are_delivered_by_a_survivor_with_their_ids(
    sim: SimProcess, redis_url: str, tmp_path: Path
) -> None:
    nodes = cluster(sim, redis_url, tmp_path, 3)
    try:
        await nodes.start_all()
        await nodes.wait_balanced(timeout=30)
        held = await nodes.holdings()
        await sim.call("main_delay", delay=SLOW)  # every lane holds a backlog
        await sim.call("events_start", rate=RATE, shards=SHARDS, guilds=2)
        await asyncio.sleep(3.0)
        victim = nodes.nodes[1]
        assert held[victim.name], held
        killed_at = time.monotonic()
        nodes.kill(victim)
        survivors = [n for n in nodes.nodes if n is not victim]
        await nodes.wait_balanced(survivors, timeout=LEASE_SECONDS + 12)
        await asyncio.sleep(1.0)
        stream = await sim.call("events_stop")
        await sim.call("main_delay", delay=0.0)
        sent = stream["sent"]
        assert stream["refused"] == 0 and len(sent) > 100
        await _all_delivered(sim, {row[0] for row in sent})

        rows = await _deliveries(sim)
        ids_of: dict[str, set[str]] = {}
        for event_id, message_id, _guild, _at, _attempt in rows:
            ids_of.setdefault(message_id, set()).add(event_id)
        changed = {m: ids for m, ids in ids_of.items() if len(ids) > 1}
        assert changed == {}, f"delivered under another id: {changed}"
        # each guild's events arrived (first time) in the order they were dispatched
        first: dict[str, float] = {}
        for _event_id, message_id, _guild, at, _attempt in rows:
            first.setdefault(message_id, at)
        for guild in {row[2] for row in sent}:
            dispatched = [row[0] for row in sent if row[2] == guild]
            assert sorted(dispatched, key=lambda m: first[m]) == dispatched, guild
        # the survivors took the killed node's pending events with its shards (the backlog
        # behind the slow main app: journaled and checkpointed, so no RESUME sent them again)
        taken = sum(_taken(nodes.output(n)) for n in survivors)
        assert taken > 0, "no survivor took the killed node's events"
        gateway_log = (await sim.call("gateway_log"))["rows"]
        assert [r for r in gateway_log if r[0] >= killed_at and r[3] == "IDENTIFY"] == []
    finally:
        await nodes.close()


async def test_nodes_started_again_deliver_each_pending_event_once(
    sim: SimProcess, redis_url: str, tmp_path: Path
) -> None:
    nodes = cluster(sim, redis_url, tmp_path, 2)
    try:
        await nodes.start_all()
        await nodes.wait_balanced(timeout=30)
        await sim.call("main_delay", delay=60.0)  # nothing is answered: all stays pending
        await sim.call("events_start", rate=RATE, shards=SHARDS, guilds=2)
        await asyncio.sleep(2.0)
        sent = (await sim.call("events_stop"))["sent"]
        await asyncio.sleep(1.0)  # journaled, checkpointed
        for node in nodes.nodes:
            nodes.kill(node)
        restarted_at = (await sim.call("main_delay", delay=0.0))["now"]
        await nodes.start_all()
        messages = {row[0] for row in sent}
        await _all_delivered(sim, messages)
        await asyncio.sleep(2.0)  # a second delivery would come meanwhile

        after = [row for row in await _deliveries(sim) if row[3] >= restarted_at]
        assert {row[1] for row in after} == messages  # every pending one, once more
        twice = [i for i, n in Counter(row[0] for row in after).items() if n > 1]
        assert twice == [], f"{len(twice)} events delivered by more than one node"
        assert sum(_taken(nodes.output(n)) for n in nodes.nodes) == len(messages)
    finally:
        await nodes.close()
