"""The gateway checklist (DESIGN.md), one test (or a few) per line, over real loopback sockets."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import pytest

from bench.harness.shards import FAST, fetcher
from gateway.connection import GatewayManager, PayloadTooLarge, Shard, ShardStatus
from gateway.simulator import DiscordSimulator

from .conftest import Recorder, eventually, ready_manager, ready_shard

pytestmark = pytest.mark.timeout(60)

MakeSim = Callable[..., Awaitable[DiscordSimulator]]
MakeShard = Callable[..., Shard]
MakeManager = Callable[..., GatewayManager]


def resumed(sim: DiscordSimulator, n: int) -> bool:
    return len(sim.resumes) == n


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
    shard = make_shard(sim, timings=timings)
    shard._gateway_url = lambda: f"ws://127.0.0.1:{port}"
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
    shard = await ready_shard(sim, make_shard, rng=lambda: 0.25, heartbeat_sleep=beat_sleep)
    for n in range(3):
        await sim.dispatch("NUMBERED", {"n": n})
    last = sim.session().seq  # type: ignore[union-attr]
    await sim.wait_for(lambda: len(sim.heartbeats) >= 3, timeout=5, what="3 heartbeats")
    assert beat_sleep.delays[0] == pytest.approx(0.05, abs=0.01)  # interval * rng()
    assert all(0.15 < d <= 0.2 for d in beat_sleep.delays[1:3])  # then every interval
    assert sim.heartbeats[-1].payload["d"] == last  # d = last sequence number
    assert shard.latency is not None and 0 <= shard.latency < 1
    assert shard.last_ack_at is not None and abs(shard.last_ack_at - time.time()) < 5


async def test_4_op1_gets_an_immediate_heartbeat(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    await ready_shard(sim, make_shard, rng=lambda: 1.0)  # first scheduled beat: 1 s away
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
    assert shard._conn is not None and shard._conn.limiter.used >= 3
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
    seq = shard.seq
    assert seq is not None
    conn = shard._conn
    assert conn is not None
    # a replayed (older) dispatch is not handled twice and never moves seq back
    shard._receive(conn, b'{"op":0,"s":1,"t":"NUMBERED","d":{"n":99}}')
    # non-dispatch payloads carrying "s" never move it either
    shard._receive(conn, b'{"op":11,"s":500}')
    shard._receive(conn, b'{"op":1,"s":600,"d":600}')
    assert shard.seq == seq
    assert rec.numbers() == [1]
    assert shard.duplicates == 1


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


class StepSleep:
    """Reconnect waits recorded and skipped (the fake clock moves by them)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.delays: list[float] = []

    def clock(self) -> float:
        return self.now

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.now += delay
        await asyncio.sleep(0)


async def test_7_op9_false_waits_1_to_5_s_then_identifies_on_gateway_url(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    step = StepSleep()
    timings = dataclasses.replace(FAST, invalid_session_wait=(1.0, 5.0))
    shard = await ready_shard(
        sim, make_shard, timings=timings, rng=lambda: 0.5, sleep=step, clock=step.clock
    )
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
    shard.session_id = "not-a-session"  # Discord no longer knows the session
    await sim.drop_connection()
    await sim.wait_for(lambda: len(sim.identifies) == 2, what="identify after failed resume")
    assert len(sim.resumes) == 1
    assert [c.kind for c in sim.connections] == ["gateway", "resume", "gateway"]
    await eventually(lambda: shard.status is ShardStatus.READY)


# ---- 9: backoff reset after a stable connection --------------------------------------------
async def test_9_backoff_resets_after_stable_connection(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    step = StepSleep()
    timings = dataclasses.replace(
        FAST, backoff_base=1.0, backoff_cap=60.0, backoff_floor=1.0, stable_after=30.0
    )
    shard = await ready_shard(
        sim, make_shard, timings=timings, rng=lambda: 1.0, sleep=step, clock=step.clock
    )
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
    shard = await ready_shard(sim, make_shard, timings=timings, rng=lambda: 1.0)
    for _ in range(3):  # IDENTIFY + 3: this connection's ordinary budget is used up
        await shard.send({"op": 3, "d": {"status": "idle"}})
    assert shard._conn is not None and shard._conn.limiter.used == 4
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
    mgr = make_manager(sim, identify_interval=0.3)
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
    shard = await ready_shard(sim, make_shard, dispatch=rec)
    old = shard._conn
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
    assert shard._conn is not old and shard.generation == 2
    # a late callback of the old connection changes nothing
    before = (shard.seq, len(rec.events))
    shard._receive(old, b'{"op":0,"s":999,"t":"NUMBERED","d":{"n":1}}')
    assert (shard.seq, len(rec.events)) == before


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
    mgr = make_manager(sim, state_dir=tmp_path, wall_clock=lambda: wall[0])
    await mgr.start()
    await asyncio.wait_for(mgr.wait_for("ready"), 5)
    await mgr.stop(resumable=True)
    wall[0] += 3600
    mgr2 = make_manager(sim, state_dir=tmp_path, wall_clock=lambda: wall[0])
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
    time.sleep(0.5)
    await eventually(lambda: shard.stalls >= 1)
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
