"""Checklists 15 and 18 with real processes (tests/gateway/gateway_process.py).

- 15: a process checkpoints its session to STATE_DIR while it runs, is SIGKILLed, and its
  restart on the same STATE_DIR resumes.
- 18, with one real redis-server: two processes (SHARD_COUNT=2, SHARD_IDS=0 and 1) against the
  simulator at max_concurrency 1 never identify within 5 s of each other; the process of
  shard 0 checkpoints to Redis, is SIGKILLed, and a process with another STATE_DIR resumes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from gateway.connection.redis_store import PREFIX
from gateway.connection.session import FILE_NAME
from gateway.simulator import DiscordSimulator
from tests.support.harness.redis_server import redis_server
from tests.support.tools import require_tool

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
MakeSim = Callable[..., Awaitable[DiscordSimulator]]


class Process:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[dict[str, Any]] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            self.lines.append(orjson.loads(line))

    def numbers(self) -> list[int]:
        return [line["n"] for line in self.lines if line.get("event") == "NUMBERED"]

    async def close(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await asyncio.gather(self._reader, return_exceptions=True)


@asynccontextmanager
async def processes() -> AsyncIterator[Callable[..., Awaitable[Process]]]:
    started: list[Process] = []

    async def spawn(sim: DiscordSimulator, redis_url: str, ids: str, state: Path) -> Process:
        env: dict[str, str] = {
            **os.environ,
            "API_BASE": sim.api_base,
            "BOT_TOKEN": sim.token,
            "SHARD_COUNT": "2",
            "SHARD_IDS": ids,
            "STATE_DIR": str(state),
            "REDIS_URL": redis_url,
            "CHECKPOINT_INTERVAL": "",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.gateway.gateway_process",
            cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        started.append(Process(proc))
        return started[-1]

    try:
        yield spawn
    finally:
        for process in started:
            await process.close()


async def expect_resumed(
    sim: DiscordSimulator, process: Process, session_id: str, *, seq: int, numbers: list[int]
) -> None:
    """The crashed process's session resumed by `process` from `seq`, the missed replayed."""
    await sim.wait_for(lambda: sim.resumes, timeout=30, what="RESUME after the crash")
    resume = sim.resumes[0].payload["d"]
    assert resume["session_id"] == session_id and resume["seq"] == seq
    async with asyncio.timeout(10):
        while process.numbers() != numbers:
            await asyncio.sleep(0.05)


async def test_15_sigkill_then_restart_on_the_same_state_dir_resumes(
    make_sim: MakeSim, tmp_path: Path
) -> None:
    sim = await make_sim(shards=2)
    async with processes() as spawn:
        a = await spawn(sim, "", "0", tmp_path)  # SHARD_COUNT=2, this process holds shard 0
        session = await sim.wait_ready(0, timeout=30)
        for n in (1, 2):
            await sim.dispatch("NUMBERED", {"n": n}, shard_id=0)
        state = tmp_path / FILE_NAME

        def checkpointed() -> bool:
            try:
                return bool(orjson.loads(state.read_bytes())["sessions"][0]["seq"] == 3)
            except (FileNotFoundError, orjson.JSONDecodeError):
                return False

        async with asyncio.timeout(10):
            while not checkpointed():  # within a heartbeat interval (1 s here)
                await asyncio.sleep(0.05)
        await a.close(signal.SIGKILL)
        await sim.dispatch("NUMBERED", {"n": 3}, shard_id=0)
        b = await spawn(sim, "", "0", tmp_path)
        await expect_resumed(sim, b, session.session_id, seq=3, numbers=[3])
        assert len(sim.identifies) == 1


async def test_18_two_processes_share_the_identify_lock_and_the_sessions(
    make_sim: MakeSim, tmp_path: Path
) -> None:
    sim = await make_sim(
        shards=2, max_concurrency=1, identify_interval=5.0, enforce_identify_rate=True
    )
    async with redis_server(require_tool("redis-server")) as url, processes() as spawn:
        redis = aioredis.Redis.from_url(url)
        try:
            a = await spawn(sim, url, "0", tmp_path / "a")
            await spawn(sim, url, "1", tmp_path / "b")
            await sim.wait_ready(0, timeout=30)
            await sim.wait_ready(1, timeout=30)
            first, second = sim.identifies
            assert second.at - first.at >= 5.0
            assert sim.identify_violations == [] and sim.sent("INVALID_SESSION") == []
            session = sim.session(0)
            assert session is not None

            for n in (1, 2, 3):
                await sim.dispatch("NUMBERED", {"n": n}, shard_id=0)

            async def checkpointed() -> bool:
                raw = await redis.get(f"{PREFIX}session:0")
                return raw is not None and orjson.loads(raw)["seq"] == 4

            async with asyncio.timeout(10):
                while not await checkpointed():  # READY (1) and the 3 dispatches
                    await asyncio.sleep(0.05)
            assert a.numbers() == [1, 2, 3]
            await a.close(signal.SIGKILL)  # a crash: no shutdown save

            await sim.dispatch("NUMBERED", {"n": 4}, shard_id=0)  # while shard 0 is down
            c = await spawn(sim, url, "0", tmp_path / "c")  # another host: empty STATE_DIR
            await expect_resumed(sim, c, session.session_id, seq=4, numbers=[4])
            assert len(sim.identifies) == 2  # resumed, not identified
        finally:
            await redis.aclose()
