"""The gateway checklist (DESIGN.md) lines 1-7, one test (or a few) per line, over real
loopback sockets (lines 9-14: test_checklist_9_14.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from functools import partial

import pytest

from gateway.clock import Clocks
from gateway.connection import ShardStatus
from gateway.simulator import DiscordSimulator
from tests.support.harness.shards import FAST, fetcher

from .conftest import (
    MakeManager,
    MakeShard,
    MakeSim,
    Recorder,
    StepSleep,
    eventually,
    ready_shard,
    resumed,
)

pytestmark = pytest.mark.timeout(60)


# ---- 1: URL from /gateway/bot (cached), session start limit, identify vs resume URL --------
async def test_1_url_from_gateway_bot_cached(
    sim: DiscordSimulator, make_manager: MakeManager
) -> None:
    calls: list[float] = []
    mgr = make_manager(sim, fetch=fetcher(sim, calls), compression="zstd-stream")
    await mgr.start()
    await asyncio.wait_for(mgr.wait_for("ready"), 5)
    for i in range(3):
        await sim.drop_connection()
        await sim.wait_for(partial(resumed, sim, i + 1), what="resumed")
        await sim.wait_ready()
    await sim.close(4009)  # identify again: the cached URL, no new GET /gateway/bot
    await sim.wait_for(lambda: len(sim.identifies) == 2, what="re-identify")
    assert len(calls) == 1
    kinds = [c.kind for c in sim.connections]
    assert kinds == ["gateway", "resume", "resume", "resume", "gateway"]
    assert all(
        c.query == {"v": "10", "encoding": "json", "compress": "zstd-stream"}
        for c in sim.connections
    )
    assert mgr.application_id == sim.application_id


async def test_1_refuses_to_start_when_session_start_limit_is_short(
    make_sim: MakeSim, make_manager: MakeManager
) -> None:
    sim = await make_sim(session_start_remaining=1, shards=2)
    statuses: list[tuple[str, str | None]] = []
    mgr = make_manager(sim)
    mgr.on_status(lambda status, reason: statuses.append((status, reason)))
    await mgr.start()
    await asyncio.wait_for(mgr.wait_for("failed"), 5)
    assert mgr.failure_reason is not None and "session start limit" in mgr.failure_reason
    assert statuses[-1][0] == "failed" and statuses[-1][1] == mgr.failure_reason
    assert sim.connections == []


async def test_1_gateway_bot_5xx_is_retried(
    sim: DiscordSimulator, make_manager: MakeManager
) -> None:
    calls: list[float] = []
    sim.gateway_bot_status = 503
    mgr = make_manager(sim, fetch=fetcher(sim, calls))
    await mgr.start()
    await eventually(lambda: len(calls) >= 3)
    assert mgr.status() == "connecting"
    sim.gateway_bot_status = None
    await asyncio.wait_for(mgr.wait_for("ready"), 5)


# ---- 2: max_size=None, no permessage-deflate, keepalive timeout resumes ------------------
async def test_2_big_payload_and_no_permessage_deflate(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    rec = Recorder()
    await ready_shard(sim, make_shard, dispatch=rec, compression="none")
    big = {"n": 1, "blob": "x" * (3 << 20)}  # 3 MiB, over websockets' 1 MiB default
    await sim.dispatch("NUMBERED", big)
    await eventually(lambda: rec.numbers() == [1])
    assert "sec-websocket-extensions" not in sim.connections[0].headers
    assert len(sim.connections) == 1


async def test_2_keepalive_timeout_is_a_resumable_close(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    timings = dataclasses.replace(FAST, ping_interval=0.05, ping_timeout=0.1, close_timeout=0.1)
    shard = await ready_shard(sim, make_shard, timings=timings)
    sim.connections[0].ws.transport.pause_reading()  # pings are never answered
    await sim.wait_for(lambda: sim.resumes, timeout=5, what="RESUME after keepalive timeout")
    await eventually(lambda: shard.status is ShardStatus.READY)
    assert len(sim.identifies) == 1
    assert shard.last_close_code == 1006


# ---- 3: timeouts connect / HELLO / READY, each ends in a reconnect -----------------------
async def test_3_connect_timeout(make_shard: MakeShard, sim: DiscordSimulator) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # accept TCP, never answer the upgrade

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    timings = dataclasses.replace(FAST, connect_timeout=0.1)
    shard = make_shard(sim, timings=timings, gateway_url=lambda: f"ws://127.0.0.1:{port}")
    shard.start()
    try:
        await eventually(lambda: len(accepted) >= 3, what="three attempts")
        assert shard.last_close_reason == "connect timeout"
        assert shard.reconnects >= 2
    finally:
        await shard.stop()
        for w in accepted:
            w.close()
        server.close()
        await server.wait_closed()


async def test_3_hello_timeout(sim: DiscordSimulator, make_shard: MakeShard) -> None:
    sim.withhold_hello()
    timings = dataclasses.replace(FAST, hello_timeout=0.1)
    shard = make_shard(sim, timings=timings)
    shard.start()
    await sim.wait_for(lambda: len(sim.connections) >= 2, what="second connection")
    await sim.wait_for(lambda: sim.connections[0].closed_at is not None, what="first closed")
    assert sim.connections[0].closed_by == "client"
    assert sim.connections[0].close_code == 4900
    assert shard.last_close_reason == "HELLO timeout"
    sim.withhold_hello(False)
    await sim.wait_ready()
    await eventually(lambda: shard.status is ShardStatus.READY)


async def test_3_ready_timeout(sim: DiscordSimulator, make_shard: MakeShard) -> None:
    sim.withhold_ready()
    timings = dataclasses.replace(FAST, ready_timeout=0.1)
    shard = make_shard(sim, timings=timings)
    shard.start()
    await sim.wait_for(lambda: len(sim.identifies) >= 2, what="identify again")
    assert shard.last_close_reason == "READY timeout"
    assert sim.connections[0].close_code == 4900
    sim.withhold_ready(False)
    await sim.wait_ready()
    await eventually(lambda: shard.status is ShardStatus.READY)


# ---- 4: heartbeats ------------------------------------------------------------------------
class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(delay)


async def test_4_heartbeat_jitter_interval_and_sequence(
    make_sim: MakeSim, make_shard: MakeShard
) -> None:
    sim = await make_sim(heartbeat_interval_ms=200)
    beat_sleep = RecordingSleep()
    shard = await ready_shard(
        sim, make_shard, clocks=Clocks(random=lambda: 0.25), heartbeat_sleep=beat_sleep
    )
    for n in range(3):
        await sim.dispatch("NUMBERED", {"n": n})
    last = sim.session().seq  # type: ignore[union-attr]
    await sim.wait_for(lambda: len(sim.heartbeats) >= 3, timeout=5, what="3 heartbeats")
    assert beat_sleep.delays[0] == pytest.approx(0.05, abs=0.01)  # interval * rng()
    assert all(0.15 < d <= 0.2 for d in beat_sleep.delays[1:3])  # then every interval
    assert sim.heartbeats[-1].payload["d"] == last  # d = last sequence number
    assert shard.state.latency is not None and 0 <= shard.state.latency < 1
    assert shard.state.last_ack_at is not None and abs(shard.state.last_ack_at - time.time()) < 5


async def test_4_op1_gets_an_immediate_heartbeat(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    await ready_shard(sim, make_shard, clocks=Clocks(random=lambda: 1.0))  # first beat: 1 s away
    before = len(sim.heartbeats)
    await sim.dispatch("NUMBERED", {"n": 1})
    await sim.request_heartbeat()
    beat = await sim.wait_for(lambda: sim.heartbeats[before:], timeout=0.5, what="heartbeat")
    assert beat[0].payload == {"op": 1, "d": sim.session().seq}  # type: ignore[union-attr]


async def test_4_and_10_heartbeats_bypass_the_send_queue(
    make_sim: MakeSim, make_shard: MakeShard
) -> None:
    sim = await make_sim(heartbeat_interval_ms=50)
    timings = dataclasses.replace(FAST, send_limit=40, send_limit_ordinary=3, send_window=60.0)
    shard = await ready_shard(sim, make_shard, timings=timings)

    async def presences() -> None:
        for _ in range(5):
            await shard.send({"op": 3, "d": {"status": "idle"}})

    blocked = asyncio.create_task(presences())
    await sim.wait_for(lambda: sim.presences, what="first presence")
    start = len(sim.heartbeats)
    await sim.wait_for(lambda: len(sim.heartbeats) >= start + 3, timeout=5, what="heartbeats")
    assert not blocked.done()  # ordinary sends wait for the window ...
    assert len(sim.presences) < 3  # ... (identify and heartbeats count against it too)
    assert shard.connection is not None and shard.connection.limiter.used >= 3
    blocked.cancel()
    await asyncio.gather(blocked, return_exceptions=True)


# ---- 5: zombie ------------------------------------------------------------------------------
async def test_5_zombie_closes_non_1000_and_resumes(
    make_sim: MakeSim, make_shard: MakeShard
) -> None:
    sim = await make_sim(heartbeat_interval_ms=50)
    shard = await ready_shard(sim, make_shard)
    sim.stop_acking()
    await sim.wait_for(lambda: sim.connections[0].closed_at is not None, what="zombie closed")
    assert sim.connections[0].closed_by == "client"
    assert sim.connections[0].close_code == 4900
    sim.stop_acking(False)
    await sim.wait_for(lambda: sim.resumes, what="RESUME")
    await eventually(lambda: shard.status is ShardStatus.READY)
    assert shard.last_close_reason == "zombie connection (no heartbeat ACK)"
    assert len(sim.identifies) == 1


# ---- 6: sequence ---------------------------------------------------------------------------
async def test_6_resume_replays_missed_events_exactly_once(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    rec = Recorder()
    shard = await ready_shard(sim, make_shard, dispatch=rec)
    for n in range(5):
        await sim.dispatch("NUMBERED", {"n": n})
    await eventually(lambda: len(rec.numbers()) == 5)
    await sim.drop_connection()
    for n in range(5, 10):  # while the client is away
        await sim.dispatch("NUMBERED", {"n": n})
    await sim.wait_for(lambda: sim.resumes, what="RESUME")
    await eventually(lambda: shard.status is ShardStatus.READY)
    assert rec.numbers() == list(range(10))
    assert rec.names()[-1] == "RESUMED" or "RESUMED" in rec.names()
    # RESUMED ends the replay: everything replayed came before it
    resumed_at = rec.names().index("RESUMED")
    assert [d["n"] for e, d in rec.events[resumed_at:] if e == "NUMBERED"] == []
    assert shard.seq == sim.session().seq  # type: ignore[union-attr]


async def test_6_seq_only_forward_only_from_dispatches(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    rec = Recorder()
    shard = await ready_shard(sim, make_shard, dispatch=rec, compression="none")
    await sim.dispatch("NUMBERED", {"n": 1})
    await eventually(lambda: rec.numbers() == [1])
    assert shard.seq == 2  # READY 1, NUMBERED 2
    conn = sim.connections[0]
    beats = len(sim.heartbeats)
    # a replayed (older) dispatch is not handled twice and never moves seq back
    await conn.send_payload({"op": 0, "s": 1, "t": "NUMBERED", "d": {"n": 99}})
    # non-dispatch payloads carrying "s" never move it either
    await conn.send_payload({"op": 11, "s": 500})
    await conn.send_payload({"op": 1, "s": 600, "d": 600})
    # op 1 is answered at once, with the sequence as it stands
    beat = await sim.wait_for(lambda: sim.heartbeats[beats:], timeout=1, what="heartbeat")
    assert beat[0].payload == {"op": 1, "d": 2}
    await sim.dispatch("NUMBERED", {"n": 2})  # the next one in order is taken as s=3
    await eventually(lambda: rec.numbers() == [1, 2])
    assert shard.seq == 3
    assert shard.state.duplicates == 1


# ---- 7: op 7 / op 9 ------------------------------------------------------------------------
async def test_7_op7_resumes(sim: DiscordSimulator, make_shard: MakeShard) -> None:
    shard = await ready_shard(sim, make_shard)
    await sim.reconnect_op7()
    await sim.wait_for(lambda: sim.resumes, what="RESUME")
    assert sim.connections[1].kind == "resume"
    assert sim.connections[0].close_code == 4900
    await eventually(lambda: shard.status is ShardStatus.READY)


async def test_7_op9_true_resumes(sim: DiscordSimulator, make_shard: MakeShard) -> None:
    shard = await ready_shard(sim, make_shard)
    await sim.invalid_session(True)
    await sim.wait_for(lambda: sim.resumes, what="RESUME")
    assert sim.connections[1].kind == "resume"
    await eventually(lambda: shard.status is ShardStatus.READY)
    assert len(sim.identifies) == 1


async def test_7_op9_false_waits_1_to_5_s_then_identifies_on_gateway_url(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    step = StepSleep()
    timings = dataclasses.replace(FAST, invalid_session_wait=(1.0, 5.0))
    shard = await ready_shard(sim, make_shard, timings=timings, clocks=step.clocks(lambda: 0.5))
    first = shard.session_id
    await sim.invalid_session(False)
    await sim.wait_for(lambda: len(sim.identifies) == 2, what="identify")
    assert step.delays == [3.0]  # 1 + (5 - 1) * rng()
    assert sim.connections[1].kind == "gateway"
    assert sim.resumes == []
    await eventually(lambda: shard.status is ShardStatus.READY and shard.session_id != first)


async def test_7_failed_resume_falls_back_to_identify(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    shard = await ready_shard(sim, make_shard)
    shard.state.session_id = "not-a-session"  # Discord no longer knows the session
    await sim.drop_connection()
    await sim.wait_for(lambda: len(sim.identifies) == 2, what="identify after failed resume")
    assert len(sim.resumes) == 1
    assert [c.kind for c in sim.connections] == ["gateway", "resume", "gateway"]
    await eventually(lambda: shard.status is ShardStatus.READY)
