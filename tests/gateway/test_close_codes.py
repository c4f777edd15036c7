"""Checklist line 8: every row of the close-code table against the simulator, with the URL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from gateway.connection import Shard, ShardStatus
from gateway.simulator import DiscordSimulator

from .conftest import eventually

pytestmark = pytest.mark.timeout(60)

MakeSim = Callable[..., Awaitable[DiscordSimulator]]
MakeShard = Callable[..., Shard]

RESUME = [1011, 1012, 4000, 4001, 4002, 4008]
IDENTIFY = [1000, 1001, 4003, 4005, 4007, 4009]
FATAL = [4004, 4010, 4011, 4012, 4013, 4014]


async def _ready(sim: DiscordSimulator, make_shard: MakeShard) -> Shard:
    shard = make_shard(sim)
    shard.start()
    await sim.wait_ready()
    await eventually(lambda: shard.status is ShardStatus.READY)
    return shard


@pytest.mark.parametrize("code", [*RESUME, None])
async def test_resume_codes_resume_on_the_resume_url(
    sim: DiscordSimulator, make_shard: MakeShard, code: int | None
) -> None:
    shard = await _ready(sim, make_shard)
    session_id = shard.session_id
    if code is None:
        await sim.drop_connection()  # 1006: no close frame
    else:
        await sim.close(code)
    await sim.wait_for(lambda: sim.resumes, what="RESUME")
    await eventually(lambda: shard.status is ShardStatus.READY)
    second = sim.connections[1]
    assert second.kind == "resume" and second.path == "/resume"
    assert second.query == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
    assert sim.resumes[0].payload["d"]["session_id"] == session_id
    assert len(sim.identifies) == 1
    assert shard.session_id == session_id
    assert shard.last_close_code == (1006 if code is None else code)


@pytest.mark.parametrize("code", IDENTIFY)
async def test_identify_codes_identify_on_the_gateway_url(
    sim: DiscordSimulator, make_shard: MakeShard, code: int
) -> None:
    shard = await _ready(sim, make_shard)
    first_session = shard.session_id
    await sim.close(code)
    await sim.wait_for(lambda: len(sim.identifies) == 2, what="second IDENTIFY")
    await eventually(lambda: shard.status is ShardStatus.READY)
    assert sim.resumes == []
    second = sim.connections[1]
    assert second.kind == "gateway" and second.path == "/"
    assert second.query["v"] == "10" and second.query["encoding"] == "json"
    assert shard.session_id != first_session
    assert shard.last_close_code == code


@pytest.mark.parametrize("code", FATAL)
async def test_fatal_codes_stop_with_reason(
    sim: DiscordSimulator, make_shard: MakeShard, code: int
) -> None:
    transitions: list[ShardStatus] = []
    shard = make_shard(sim, on_status=lambda s, status: transitions.append(status))
    shard.start()
    await sim.wait_ready()
    await sim.close(code, "simulated")
    await eventually(lambda: shard.status is ShardStatus.FAILED)
    await shard.wait_stopped()
    assert not shard.running
    assert shard.failure_reason is not None and str(code) in shard.failure_reason
    assert shard.last_close_code == code
    assert len(sim.connections) == 1  # no retry
    assert transitions[-1] is ShardStatus.FAILED


async def test_real_authentication_failure_is_fatal(
    sim: DiscordSimulator, make_shard: MakeShard
) -> None:
    shard = make_shard(sim, token="wrong-token")
    shard.start()
    await eventually(lambda: shard.status is ShardStatus.FAILED)
    assert shard.failure_reason == "4004 authentication failed"
    assert len(sim.connections) == 1


@pytest.mark.parametrize(("resumable", "code"), [(True, 4900), (False, 1000)])
async def test_our_own_close_codes(
    sim: DiscordSimulator, make_shard: MakeShard, resumable: bool, code: int
) -> None:
    shard = await _ready(sim, make_shard)
    state = await shard.stop(resumable=resumable)
    conn = sim.connections[0]
    await sim.wait_for(lambda: conn.closed_at is not None, what="closed")
    assert conn.closed_by == "client" and conn.close_code == code
    assert (state is not None) is resumable
    assert shard.status is ShardStatus.IDLE
    session = next(iter(sim.sessions.values()))
    assert session.resumable is resumable
