"""The gateway checklist (DESIGN.md) lines 9-14 (and no token in the logs), over real loopback
sockets."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from functools import partial
from pathlib import Path

import pytest

from gateway.clock import Clocks
from gateway.connection import PayloadTooLarge, ShardStatus
from gateway.connection.state_machine import NOTHING
from gateway.simulator import DiscordSimulator
from tests.support.harness.shards import FAST

from .conftest import (
    MakeManager,
    MakeShard,
    MakeSim,
    Recorder,
    StepSleep,
    eventually,
    ready_manager,
    ready_shard,
    resumed,
)

pytestmark = pytest.mark.timeout(60)


# ---- 9: backoff reset after a stable connection --------------------------------------------
async def test_9_backoff_resets_after_stable_connection(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    step = StepSleep()
    timings = dataclasses.replace(
        FAST, backoff_base=1.0, backoff_cap=60.0, backoff_floor=1.0, stable_after=30.0
    )
    shard = await ready_shard(sim, make_shard, timings=timings, clocks=step.clocks(lambda: 1.0))
    for i in range(4):  # unstable: each reconnect waits longer, up to the fast attempts' bound
        await sim.drop_connection()
        await sim.wait_for(partial(resumed, sim, i + 1), what="resume")
        await eventually(lambda: shard.status is ShardStatus.READY)
    # Every one of these connections reached READY, so the escalation stops at 2**2 s instead
    # of climbing to the 60 s cap under repeated short-lived faults.
    assert step.delays == [1.0, 2.0, 4.0, 4.0]
    step.now += 31.0  # the connection has been up for a while
    await sim.drop_connection()
    await sim.wait_for(lambda: len(sim.resumes) == 5, what="resume")
    assert step.delays[-1] == 1.0


# ---- 10: payload size, per-connection counters, identify throttle ---------------------------
async def test_10_payload_over_4096_refused_before_sending(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    shard = await ready_shard(sim, make_shard)
    with pytest.raises(PayloadTooLarge):
        await shard.send({"op": 3, "d": {"status": "online", "name": "x" * 4100}})
    assert sim.presences == []
    assert sim.connections[0].open


async def test_10_send_counters_reset_per_connection(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    timings = dataclasses.replace(FAST, send_limit=10, send_limit_ordinary=4, send_window=60.0)
    shard = await ready_shard(sim, make_shard, timings=timings, clocks=Clocks(random=lambda: 1.0))
    for _ in range(3):  # IDENTIFY + 3: this connection's ordinary budget is used up
        await shard.send({"op": 3, "d": {"status": "idle"}})
    assert shard.connection is not None and shard.connection.limiter.used == 4
    await sim.wait_for(lambda: len(sim.presences) == 3, what="presences arrived")
    await sim.drop_connection()
    await sim.wait_for(lambda: sim.resumes, what="resume")
    await eventually(lambda: shard.status is ShardStatus.READY)
    await asyncio.wait_for(shard.send({"op": 3, "d": {"status": "online"}}), 1)
    await sim.wait_for(lambda: len(sim.presences) == 4, what="presence on the new connection")


async def test_10_identify_throttle_per_bucket_across_shards(
    make_sim: MakeSim, make_manager: MakeManager
) -> None:
    sim = await make_sim(
        shards=4, max_concurrency=2, identify_interval=0.3, enforce_identify_rate=True
    )
    mgr = make_manager(sim, timings=dataclasses.replace(FAST, identify_interval=0.3))
    await mgr.start()
    await asyncio.wait_for(mgr.wait_for("ready"), 10)
    assert sim.identify_violations == []
    ids = sorted(e.payload["d"]["shard"][0] for e in sim.identifies)
    assert ids == [0, 1, 2, 3]
    by_bucket: dict[int, list[float]] = {}
    for e in sim.identifies:
        by_bucket.setdefault(e.payload["d"]["shard"][0] % 2, []).append(e.at)
    for times in by_bucket.values():
        assert len(times) == 2 and times[1] - times[0] >= 0.29
    assert len({c.id for c in sim.connections}) == 4  # one connection per shard
    assert [s["status"] for s in mgr.snapshot()] == ["ready"] * 4


# ---- 11: stale connections -------------------------------------------------------------------
async def test_11_old_connection_closed_and_awaited_before_new_one(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    rec = Recorder()
    # uncompressed: a late message would be read whole (zlib would wait for a frame's end)
    shard = await ready_shard(sim, make_shard, dispatch=rec, compression="none")
    old = shard.connection
    assert old is not None and old.transport.ws is not None
    old_ws = old.transport.ws
    await sim.reconnect_op7()
    await sim.wait_for(lambda: sim.resumes, what="resume")
    await eventually(lambda: shard.status is ShardStatus.READY)
    connect_events = [e for e in sim.events if e.kind == "connect"]
    close_events = [e for e in sim.events if e.kind == "close" and e.connection == 1]
    assert close_events and close_events[0].at <= connect_events[1].at
    assert old_ws.state.name == "CLOSED"
    assert old.tasks == set() and old.driver is None and old.transport.ws is None
    assert shard.connection is not old and shard.generation == 2
    # a late message of the old connection changes nothing: no decision, no state
    before = (shard.seq, shard.state.dropped, shard.state.duplicates, len(rec.events))
    late = shard.state.receive(old, b'{"op":0,"s":999,"t":"NUMBERED","d":{"n":1}}')
    assert late == NOTHING
    assert (shard.seq, shard.state.dropped, shard.state.duplicates, len(rec.events)) == before


# ---- 12: compression -----------------------------------------------------------------------
@pytest.mark.parametrize("compression", ["zlib-stream", "zstd-stream", "none"])
async def test_12_compression_end_to_end_with_split_frames(
    make_sim: MakeSim, make_shard: MakeShard, compression: str
) -> None:
    sim = await make_sim(compressed_chunk_size=50)
    rec = Recorder()
    await ready_shard(sim, make_shard, dispatch=rec, compression=compression)
    for n in range(20):
        await sim.dispatch("NUMBERED", {"n": n, "text": "abc" * n * 10})
    await eventually(lambda: len(rec.numbers()) == 20)
    assert rec.numbers() == list(range(20))
    expected = None if compression == "none" else compression
    assert sim.connections[0].compress == expected


@pytest.mark.parametrize("compression", ["zlib-stream", "zstd-stream"])
async def test_12_corrupt_frame_reconnects_resumably(
    sim: DiscordSimulator, make_shard: MakeShard, compression: str
) -> None:
    rec = Recorder()
    shard = await ready_shard(sim, make_shard, dispatch=rec, compression=compression)
    await sim.dispatch("NUMBERED", {"n": 0})
    sim.corrupt_next_frame()
    await sim.dispatch("NUMBERED", {"n": 1})  # arrives garbled
    await sim.wait_for(lambda: sim.resumes, what="resume")
    await eventually(lambda: shard.status is ShardStatus.READY)
    assert shard.last_close_reason in ("corrupt frame", "undecodable payload")
    assert sim.connections[0].close_code == 4900
    await eventually(lambda: rec.numbers() == [0, 1])  # replayed on resume, once


async def test_12_garbage_text_reconnects(sim: DiscordSimulator, make_shard: MakeShard) -> None:
    shard = await ready_shard(sim, make_shard, compression="none")
    await sim.send_garbage("text")
    await sim.wait_for(lambda: sim.resumes, what="resume")
    assert shard.last_close_reason == "undecodable payload"


# ---- 13: session saved at shutdown, resumed after a restart ---------------------------------
async def test_13_restart_resumes_from_state_dir(
    sim: DiscordSimulator, make_manager: MakeManager, tmp_path: Path
) -> None:
    seen: list[int] = []
    mgr = await ready_manager(sim, make_manager, seen, state_dir=tmp_path)
    await sim.dispatch("NUMBERED", {"n": 1})
    await eventually(lambda: seen == [1])
    await mgr.stop(resumable=True)
    assert sim.connections[0].close_code == 4900  # not 1000: the session stays resumable
    assert (tmp_path / "gateway-session.json").exists()
    await sim.dispatch("NUMBERED", {"n": 2})  # happens while we restart

    await ready_manager(sim, make_manager, seen, state_dir=tmp_path)
    await eventually(lambda: seen == [1, 2])
    assert len(sim.identifies) == 1 and len(sim.resumes) == 1
    assert sim.connections[1].kind == "resume"


async def test_13_stale_saved_session_identifies(
    sim: DiscordSimulator, make_manager: MakeManager, tmp_path: Path
) -> None:
    wall = [1_000_000.0]
    mgr = make_manager(sim, state_dir=tmp_path, clocks=Clocks(wall=lambda: wall[0]))
    await mgr.start()
    await asyncio.wait_for(mgr.wait_for("ready"), 5)
    await mgr.stop(resumable=True)
    wall[0] += 3600
    mgr2 = make_manager(sim, state_dir=tmp_path, clocks=Clocks(wall=lambda: wall[0]))
    await mgr2.start()
    await asyncio.wait_for(mgr2.wait_for("ready"), 5)
    assert len(sim.identifies) == 2 and sim.resumes == []


# ---- 14: loop stall ------------------------------------------------------------------------
async def test_14_loop_stall_is_logged_with_the_lag(
    make_sim: MakeSim, make_shard: MakeShard, caplog: pytest.LogCaptureFixture
) -> None:
    sim = await make_sim(heartbeat_interval_ms=50)
    timings = dataclasses.replace(FAST, stall_warning=0.2)
    shard = await ready_shard(sim, make_shard, timings=timings)
    caplog.set_level(logging.WARNING, logger="gateway.shard")
    time.sleep(0.5)  # blocks the event loop on purpose: the stall the shard must notice
    await eventually(lambda: shard.state.stalls >= 1)
    warnings = [r for r in caplog.records if "stalled" in r.getMessage()]
    assert len(warnings) == 1
    args = warnings[0].args
    assert isinstance(args, tuple) and isinstance(args[1], float) and args[1] >= 0.2
    # a stall is not a zombie: no reconnect because of it
    await sim.wait_for(lambda: len(sim.heartbeats) >= 4, what="beats continue")
    assert len(sim.connections) == 1


# ---- logging never carries the token -------------------------------------------------------
async def test_token_never_logged(
    sim: DiscordSimulator, make_shard: MakeShard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    shard = await ready_shard(sim, make_shard)
    await sim.drop_connection()
    await sim.wait_for(lambda: sim.resumes, what="resume")
    await eventually(lambda: shard.status is ShardStatus.READY)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "shard 0: ready" in text and "resumed" in text
    assert sim.token not in text
    assert sim.token not in repr(shard)
    assert sim.token not in str(shard.snapshot())
