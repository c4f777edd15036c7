"""Checklist 17: identifies budgeted from session_start_limit; repeated op 9 back off."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from functools import partial

import pytest

from gateway.clock import Clocks
from gateway.connection import GatewayManager, Shard, ShardStatus
from gateway.simulator import DiscordSimulator
from tests.support.harness.shards import FAST, fetcher

from .conftest import eventually

pytestmark = pytest.mark.timeout(60)

MakeSim = Callable[..., Awaitable[DiscordSimulator]]
MakeShard = Callable[..., Shard]
MakeManager = Callable[..., GatewayManager]


def identified(sim: DiscordSimulator, n: int) -> bool:
    return len(sim.identifies) == n


async def test_17_budget_refreshed_when_low_and_waits_for_the_reset_at_zero(
    make_sim: MakeSim, make_manager: MakeManager
) -> None:
    sim = await make_sim(
        session_start_total=3, session_start_remaining=3, session_start_reset_after_ms=2500
    )
    calls: list[float] = []
    notices: list[str] = []
    mgr = make_manager(sim, fetch=fetcher(sim, calls))
    mgr.on_notice(notices.append)
    await mgr.start()
    await asyncio.wait_for(mgr.wait_for("ready"), 5)
    shard = mgr.shards[0]
    for n in (2, 3):  # op 9: identify again, spending the budget
        await sim.invalid_session(False)
        await sim.wait_for(partial(identified, sim, n), what=f"identify {n}")
        await eventually(lambda: shard.status is ShardStatus.READY)
    assert len(calls) == 2  # the third identify refreshed /gateway/bot first (1 left, low)
    budget = mgr.budget
    assert budget is not None and budget.remaining == 0 and budget.spent == 3

    await sim.invalid_session(False)  # a fourth identify would exceed the limit: it waits
    wait = await eventually(mgr.identify_wait, what="identify waiting for the reset")
    assert "session start limit" in wait["reason"]
    reset_at = time.time() + sim.gateway.start_limit()["reset_after"] / 1000
    assert wait["until"] == pytest.approx(reset_at, abs=0.5)
    assert notices and notices[0] == wait["reason"]  # the audit log's notice
    assert mgr.status() == "connecting" and len(sim.identifies) == 3
    await asyncio.wait_for(mgr.wait_for("ready"), 5)  # after the reset
    assert len(sim.identifies) == 4 and mgr.identify_wait() is None
    assert sim.sent("session_start_limit") == []  # Discord never had to refuse one
    assert len(calls) == 3 and budget.remaining == 2


async def test_17_repeated_invalid_sessions_back_off(
    make_sim: MakeSim, make_shard: MakeShard
) -> None:
    sim = await make_sim(identify_interval=3600.0, enforce_identify_rate=True)
    delays: list[float] = []
    now = [0.0]

    async def sleep(delay: float) -> None:
        delays.append(delay)
        now[0] += delay
        await asyncio.sleep(0)

    timings = dataclasses.replace(FAST, invalid_session_wait=(1.0, 5.0))
    clocks = Clocks(monotonic=lambda: now[0], sleep=sleep, random=lambda: 0.5)
    shard = make_shard(sim, timings=timings, clocks=clocks)
    shard.start()
    await sim.wait_ready()
    await sim.invalid_session(False)  # then every identify is "too fast": op 9 again
    await sim.wait_for(lambda: len(sim.identifies) >= 6, what="identifies")
    assert delays[:5] == [3.0, 6.0, 12.0, 24.0, 24.0]  # doubling, capped at 8x
    assert shard.state.invalid_sessions >= 5
