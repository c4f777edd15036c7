"""Checklist 16 (RESUME deadline, resume-host fallback) and the tolerance/status fixes."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable

import pytest
from websockets.protocol import State

from gateway.connection import Shard, ShardStatus
from gateway.simulator import DiscordSimulator
from tests.support.harness.shards import FAST

from .conftest import Recorder, eventually, ready_shard

pytestmark = pytest.mark.timeout(60)

MakeSim = Callable[..., Awaitable[DiscordSimulator]]
MakeShard = Callable[..., Shard]


# ---- 16: RESUME deadline --------------------------------------------------------------------
async def test_16_unanswered_resume_reconnects_after_the_deadline(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    timings = dataclasses.replace(FAST, resume_timeout=0.3)
    shard = await ready_shard(sim, make_shard, timings=timings)
    sim.ignore_resumes(1)
    await sim.drop_connection()
    await sim.wait_for(lambda: len(sim.resumes) == 2, what="a second RESUME after the deadline")
    await eventually(lambda: shard.status is ShardStatus.READY)
    assert shard.reconnects == 2 and len(sim.identifies) == 1  # the session was kept
    assert [c.kind for c in sim.connections] == ["gateway", "resume", "resume"]
    assert sim.connections[1].close_code == 4900  # our own, resumable close
    assert shard.last_close_reason == "RESUME timeout"


async def test_16_each_replayed_dispatch_rearms_the_deadline(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    rec = Recorder()
    timings = dataclasses.replace(FAST, resume_timeout=0.4)
    shard = await ready_shard(sim, make_shard, timings=timings, dispatch=rec)
    sim.ignore_resumes(1)  # the test plays the server's slow replay by hand
    await sim.drop_connection()
    await sim.wait_for(lambda: len(sim.resumes) == 1, what="RESUME")
    conn = sim.connections[-1]
    for n in range(1, 6):  # 5 x 0.25 s = 1.25 s of replay, far beyond one 0.4 s deadline
        await asyncio.sleep(0.25)
        await conn.send_payload({"op": 0, "s": n + 1, "t": "NUMBERED", "d": {"n": n}})
    assert shard.status is ShardStatus.RESUMING
    await conn.send_payload({"op": 0, "s": 7, "t": "RESUMED", "d": {}})
    await eventually(lambda: shard.status is ShardStatus.READY)
    assert len(sim.connections) == 2 and shard.reconnects == 1  # no reconnect meanwhile
    assert rec.numbers() == [1, 2, 3, 4, 5] and shard.seq == 7


# ---- 16: the resume host unreachable --------------------------------------------------------
async def test_16_two_failed_connects_to_the_resume_host_resume_on_the_gateway_url(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    shard = await ready_shard(sim, make_shard)
    session = shard.session_id
    sim.refuse_resume_host()
    await sim.drop_connection()
    await sim.wait_for(lambda: len(sim.resumes) == 1, what="RESUME on the gateway URL")
    await eventually(lambda: shard.status is ShardStatus.READY)
    refused = [e.payload for e in sim.refused]
    assert len(refused) == 2 and all(str(p).startswith("/resume") for p in refused)
    assert [c.kind for c in sim.connections] == ["gateway", "gateway"]
    assert len(sim.identifies) == 1 and shard.session_id == session  # kept, resumed
    assert shard.state.resume_host_failures == 0
    # once READY again, the next resume tries the resume host first
    sim.refuse_resume_host(False)
    await sim.drop_connection()
    await sim.wait_for(lambda: len(sim.resumes) == 2, what="RESUME on the resume host")
    assert sim.connections[-1].kind == "resume"


async def test_16_one_failed_connect_retries_the_resume_host(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    shard = await ready_shard(sim, make_shard)
    sim.refuse_resume_host()
    await sim.drop_connection()
    await sim.wait_for(lambda: len(sim.refused) == 1, what="a refused resume")
    sim.refuse_resume_host(False)
    await sim.wait_for(lambda: len(sim.resumes) == 1, what="RESUME")
    await eventually(lambda: shard.status is ShardStatus.READY)
    assert sim.connections[-1].kind == "resume"


# ---- tolerance: READY s=0 (Spacebar) ------------------------------------------------------
async def test_ready_numbered_zero_starts_the_sequence(
    make_sim: MakeSim, make_shard: MakeShard
) -> None:
    sim = await make_sim(ready_seq_zero=True)
    rec = Recorder()
    shard = await ready_shard(sim, make_shard, dispatch=rec)
    assert sim.sent("READY")[0].seq == 0
    assert shard.seq == 0 and shard.state.dropped == 0
    await sim.dispatch("NUMBERED", {"n": 1})
    await sim.dispatch("NUMBERED", {"n": 2})
    await eventually(lambda: rec.numbers() == [1, 2])
    assert shard.seq == 2 and shard.state.dropped == 0
    await sim.drop_connection()  # and it resumes from there
    await sim.wait_for(lambda: sim.resumes, what="RESUME")
    assert sim.resumes[0].payload["d"]["seq"] == 2


async def test_dispatch_numbered_zero_is_still_dropped(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    rec = Recorder()
    shard = await ready_shard(sim, make_shard, dispatch=rec)
    conn = sim.connections[0]
    await conn.send_payload({"op": 0, "s": 0, "t": "NUMBERED", "d": {"n": 0}})
    await sim.dispatch("NUMBERED", {"n": 1})
    await eventually(lambda: rec.numbers() == [1])
    assert shard.seq == 2  # READY 1, NUMBERED 2; the s=0 dispatch moved nothing


# ---- truthful status --------------------------------------------------------------------
async def test_status_leaves_ready_before_the_old_socket_has_closed(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    seen: list[tuple[ShardStatus, State | None]] = []

    def on_status(shard: Shard, status: ShardStatus) -> None:
        conn = shard.connection
        ws = conn.transport.ws if conn is not None else None
        seen.append((status, ws.state if ws is not None else None))

    timings = dataclasses.replace(FAST, close_timeout=2.0)
    shard = await ready_shard(sim, make_shard, timings=timings, on_status=on_status)
    sim.stop_acking()
    sim.connections[0].ws.transport.pause_reading()  # frozen: our close gets no answer
    await eventually(lambda: shard.status is not ShardStatus.READY, timeout=5)
    assert seen[-1] == (ShardStatus.RECONNECTING, State.OPEN)  # decided; socket still there
    sim.stop_acking(False)
    await eventually(lambda: shard.status is ShardStatus.READY, timeout=10)


async def test_keepalive_timeout_is_logged_as_this_sides_close(
    sim: DiscordSimulator, make_shard: MakeShard, caplog: pytest.LogCaptureFixture
) -> None:
    timings = dataclasses.replace(FAST, ping_interval=0.05, ping_timeout=0.1, close_timeout=0.1)
    shard = await ready_shard(sim, make_shard, timings=timings)
    with caplog.at_level(logging.INFO, logger="gateway.shard"):
        sim.connections[0].ws.transport.pause_reading()  # pings are never answered
        await sim.wait_for(lambda: sim.resumes, timeout=5, what="RESUME after keepalive timeout")
    closes = [r.getMessage() for r in caplog.records if "closed by" in r.getMessage()]
    assert closes and all("closed by this side" in m for m in closes), closes
    assert "keepalive ping timeout" in closes[0]
    assert shard.last_close_code == 1006
