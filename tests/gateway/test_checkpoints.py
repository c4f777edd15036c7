"""Checklist 15: the session is checkpointed while it runs, so a crash still resumes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
import pytest

from gateway.connection import GatewayManager
from gateway.connection.session import FILE_NAME
from gateway.simulator import DiscordSimulator

from .conftest import eventually, ready_manager

pytestmark = pytest.mark.timeout(60)

MakeSim = Callable[..., Awaitable[DiscordSimulator]]
MakeManager = Callable[..., GatewayManager]


def saved_seqs(state_dir: Path) -> dict[int, int | None]:
    try:
        body = orjson.loads((state_dir / FILE_NAME).read_bytes())
    except FileNotFoundError:
        return {}
    return {s["shard_id"]: s["seq"] for s in body["sessions"]}


async def crash(mgr: GatewayManager) -> None:
    """As SIGKILL would leave it: the shards gone, no save at shutdown (the manager's stop
    saves; a shard's own stop only closes, 4900, as a cancelled task does)."""
    checkpoints = mgr.checkpoints
    assert checkpoints is not None
    await checkpoints.stop()
    for shard in mgr.shards:
        assert shard.running
        await shard.stop(resumable=True)


async def test_15_checkpoints_every_heartbeat_and_a_crash_resumes(
    make_sim: MakeSim, make_manager: MakeManager, tmp_path: Path
) -> None:
    sim = await make_sim(heartbeat_interval_ms=300, shards=2)
    seen: list[int] = []
    mgr = await ready_manager(sim, make_manager, seen, state_dir=tmp_path)
    # READY is checkpointed at once (not a heartbeat later)
    await eventually(lambda: saved_seqs(tmp_path) == {0: 1, 1: 1}, timeout=0.25)
    for n in range(1, 4):
        await sim.dispatch("NUMBERED", {"n": n}, shard_id=1)
    await eventually(lambda: seen == [1, 2, 3])
    # ... and each change within one heartbeat interval (0.3 s), while running
    await eventually(lambda: saved_seqs(tmp_path) == {0: 1, 1: 4}, timeout=0.6)
    checkpoints = mgr.checkpoints
    assert checkpoints is not None and checkpoints.interval() == pytest.approx(0.3)
    # the write that produced the file has returned (what it saved is the state now)
    await eventually(lambda: checkpoints.saved == checkpoints.sessions(), timeout=0.6)
    writes = checkpoints.writes
    await asyncio.sleep(0.7)  # a negative check over two intervals: no event marks "no write"
    assert checkpoints.writes == writes  # nothing changed: nothing written
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # atomic: no temp file left

    await crash(mgr)
    await sim.dispatch("NUMBERED", {"n": 4}, shard_id=1)  # while we are down
    await ready_manager(sim, make_manager, seen, state_dir=tmp_path)
    await eventually(lambda: seen == [1, 2, 3, 4])
    assert len(sim.identifies) == 2 and len(sim.resumes) == 2  # both shards resumed
    assert {r.payload["d"]["seq"] for r in sim.resumes} == {1, 4}
