"""Sequence audit, no reconnect storm, memory and tasks flat over 1,000 reconnects, handlers."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import random
import tracemalloc
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from gateway.clock import Clocks
from gateway.connection import GatewayManager, Shard, ShardStatus
from gateway.connection.compression import ZlibStreamInflater
from gateway.simulator import DiscordSimulator
from tests.support.harness.shards import FAST

from .conftest import eventually

pytestmark = pytest.mark.timeout(120)

MakeSim = Callable[..., Awaitable[DiscordSimulator]]
MakeShard = Callable[..., Shard]
MakeManager = Callable[..., GatewayManager]


def resumed(sim: DiscordSimulator, count: int) -> bool:
    return len(sim.sent("RESUMED")) == count


def back(shard: Shard, reconnects: int) -> bool:
    return shard.reconnects == reconnects and shard.status is ShardStatus.READY


async def test_sequence_audit_200_disruptions(
    sim: DiscordSimulator, make_manager: MakeManager
) -> None:
    handled: list[int] = []

    async def handler(data: Any, shard: Shard) -> None:
        handled.append(data["n"])

    mgr = make_manager(sim)
    mgr.on("NUMBERED", handler)
    await mgr.start()
    await asyncio.wait_for(mgr.wait_for("ready"), 5)
    rng = random.Random(7)
    n = 0
    for i in range(200):
        for _ in range(2):
            await sim.dispatch("NUMBERED", {"n": n})
            n += 1
        kind = rng.choice(["drop", "close4000", "close1011", "op7", "op9"])
        if kind == "drop":
            await sim.drop_connection()
        elif kind == "close4000":
            await sim.close(4000)
        elif kind == "close1011":
            await sim.close(1011)
        elif kind == "op7":
            await sim.reconnect_op7()
        else:
            await sim.invalid_session(True)
        await sim.dispatch("NUMBERED", {"n": n})  # usually while the client is away
        n += 1
        await sim.wait_for(partial(resumed, sim, i + 1), what=f"resume {i}")
        await sim.wait_ready()
    await eventually(lambda: len(handled) >= n)
    await asyncio.sleep(0.05)  # a negative check: nothing extra trickles in after the wait
    assert handled == list(range(n))
    assert len(sim.identifies) == 1
    assert mgr.snapshot()[0]["reconnects"] == 200


class VirtualTime:
    """Reconnect waits on a fake clock: the 60 s outage runs in milliseconds."""

    def __init__(self, sim: DiscordSimulator, outage: float) -> None:
        self.now = 0.0
        self.sim = sim
        self.outage = outage
        self.delays: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        self.now += delay
        if self.now >= self.outage:
            self.sim.accept_connections()
        await asyncio.sleep(0)


async def test_no_storm_while_refused_for_60_s_and_back_by_itself(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    vt = VirtualTime(sim, outage=60.0)
    timings = dataclasses.replace(
        FAST, backoff_base=1.0, backoff_cap=60.0, backoff_floor=1.0, backoff_fast_attempts=2
    )
    sim.refuse_connections()  # until the virtual clock passes 60 s
    clocks = Clocks(monotonic=vt.clock, sleep=vt.sleep, random=random.Random(3).random)
    shard = make_shard(sim, timings=timings, clocks=clocks)
    shard.start()
    await sim.wait_ready(timeout=10)
    await eventually(lambda: shard.status is ShardStatus.READY)
    refused = len(sim.refused)
    assert refused == len(vt.delays)  # one refused attempt before each wait
    for attempt, delay in enumerate(vt.delays, start=1):
        assert delay <= min(60.0, 2.0 ** (attempt - 1))  # exponential, capped
        if attempt > 2:
            assert delay >= 1.0  # past the first few: never more than one a second
    assert 5 <= refused <= 60  # followed the backoff, no storm, did not give up
    assert shard.reconnects == refused


async def test_memory_and_tasks_flat_over_1000_reconnects(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    timings = dataclasses.replace(FAST, backoff_base=0.0001, backoff_cap=0.0005)
    shard = make_shard(sim, timings=timings)
    shard.start()
    await sim.wait_ready()

    async def cycles(count: int, start: int) -> None:
        for i in range(start, start + count):
            await sim.drop_connection()
            await eventually(partial(back, shard, i + 1), what="resumed")
            await sim.wait_ready()

    def settled_tasks() -> int:
        return len(asyncio.all_tasks())

    def live(kind: type) -> int:
        return sum(1 for obj in gc.get_objects() if type(obj) is kind)

    await cycles(100, 0)  # warm up caches, logging, websockets internals
    await eventually(lambda: all(not c.open for c in sim.connections[:-1]))
    # A few loop turns for the closed connections' own tasks to end before the baseline is
    # taken (no single event marks "every closing task is gone"); the end waits for it.
    await asyncio.sleep(0.05)
    baseline_tasks = settled_tasks()
    gc.collect()
    tracemalloc.start(1)
    # every module of the connection room, whatever files it is split into
    ours = [tracemalloc.Filter(True, "*/gateway/connection/*.py")]
    before = tracemalloc.take_snapshot().filter_traces(ours)
    try:
        await cycles(900, 100)
        await asyncio.sleep(0.05)  # as before the baseline: the last cycle's tasks end
        gc.collect()
        after = tracemalloc.take_snapshot().filter_traces(ours)
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    # One leaked connection would keep >= 32 KiB of zlib state alone (900 of them: ~29 MB).
    # Observed: ~0.5 KB per cycle of dict-sized blocks, no gc-tracked object (checked below).
    assert grown < 1024 * 1024, f"gateway memory grew by {grown} bytes over 900 reconnects"
    await eventually(lambda: settled_tasks() == baseline_tasks, what="tasks back to baseline")
    assert shard.reconnects == 1000
    assert shard.generation == 1001
    conn = shard.connection
    assert conn is not None and len(conn.tasks) == 1  # just this connection's heartbeat
    # exactly one live client socket, connection record and inflater: nothing old survives
    assert live(ClientConnection) == 1
    assert live(type(conn)) == 1
    assert live(ZlibStreamInflater) == 1


async def test_handlers_run_as_tasks_errors_logged_slow_ones_never_block(
    make_sim: MakeSim, make_manager: MakeManager, caplog: pytest.LogCaptureFixture
) -> None:
    sim = await make_sim(heartbeat_interval_ms=50)
    never = asyncio.Event()
    seen: list[int] = []

    async def slow(data: Any, shard: Shard) -> None:
        await never.wait()

    async def broken(data: Any, shard: Shard) -> None:
        raise RuntimeError("handler bug")

    async def fine(data: Any, shard: Shard) -> None:
        seen.append(data["n"])

    mgr = make_manager(sim)
    mgr.on("NUMBERED", slow)
    mgr.on("NUMBERED", broken)
    mgr.on("NUMBERED", fine)
    await mgr.start()
    await asyncio.wait_for(mgr.wait_for("ready"), 5)
    caplog.set_level(logging.ERROR, logger="gateway.manager")
    for n in range(10):
        await sim.dispatch("NUMBERED", {"n": n})
    await eventually(lambda: seen == list(range(10)))
    beats = len(sim.heartbeats)
    await sim.wait_for(lambda: len(sim.heartbeats) >= beats + 3, what="heartbeats go on")
    assert len(sim.connections) == 1 and mgr.status() == "ready"
    assert sum("handler for NUMBERED failed" in r.getMessage() for r in caplog.records) == 10
    assert mgr.handler_tasks == 10  # the slow ones
    await mgr.stop(resumable=False)
    assert mgr.handler_tasks == 0
    assert mgr.status() == "idle"


async def test_several_shards_each_own_connection_and_routing(
    make_sim: MakeSim, make_manager: MakeManager
) -> None:
    sim = await make_sim(shards=3)
    got: list[tuple[int, int]] = []

    async def handler(data: Any, shard: Shard) -> None:
        got.append((shard.shard_id, data["n"]))

    mgr = make_manager(sim, shard_count=3, shard_ids=[0, 2])
    mgr.on("NUMBERED", handler)
    await mgr.start()
    await asyncio.wait_for(mgr.wait_for("ready"), 5)
    assert sorted(e.payload["d"]["shard"] for e in sim.identifies) == [[0, 3], [2, 3]]
    await sim.dispatch("NUMBERED", {"n": 1}, shard_id=0)
    await sim.dispatch("NUMBERED", {"n": 2}, shard_id=2)
    await eventually(lambda: sorted(got) == [(0, 1), (2, 2)])
    await sim.drop_connection(shard_id=2)
    await eventually(lambda: mgr.status() == "resuming" or len(sim.resumes) == 1)
    await sim.wait_for(lambda: len(sim.resumes) == 1, what="shard 2 resumes")
    await asyncio.wait_for(mgr.wait_for("ready"), 5)
    snap = {s["shard_id"]: s for s in mgr.snapshot()}
    assert snap[0]["reconnects"] == 0 and snap[2]["reconnects"] == 1
    assert snap[2]["last_close_code"] == 1006
    assert "token" not in str(snap)


async def test_manager_status_transitions_and_presence(
    sim: DiscordSimulator, make_manager: MakeManager
) -> None:
    seen: list[str] = []
    mgr = make_manager(sim)

    async def listener(status: str, reason: str | None) -> None:
        seen.append(status)

    mgr.on_status(listener)
    assert mgr.status() == "idle"
    await mgr.start()
    await asyncio.wait_for(mgr.wait_for("ready"), 5)
    sent = await mgr.update_presence("dnd", 0, "the draft")
    assert sent == 1
    event = await sim.wait_for(lambda: sim.presences, what="presence")
    assert event[0].payload["d"]["status"] == "dnd"
    assert event[0].payload["d"]["activities"] == [{"name": "the draft", "type": 0}]
    await mgr.restart()
    await asyncio.wait_for(mgr.wait_for("ready"), 5)
    assert len(sim.resumes) == 0 or sim.connections[-1].kind == "resume"
    await mgr.stop(resumable=False)
    await asyncio.sleep(0)
    assert seen[:2] == ["connecting", "ready"] and seen[-1] == "idle"
    assert sim.connections[-1].close_code == 1000
