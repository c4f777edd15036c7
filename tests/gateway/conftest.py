"""Fixtures of the gateway tests: a simulator on loopback and shards/managers wired to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from gateway.clock import Clocks
from gateway.connection import GatewayConfig, GatewayManager, Shard, ShardContext, ShardStatus
from gateway.simulator import DiscordSimulator
from tests.support.harness.shards import FAST, fetcher
from tests.support.waiting import eventually

__all__ = ["eventually"]  # imported from here by the gateway tests

MakeSim = Callable[..., Awaitable[DiscordSimulator]]
MakeShard = Callable[..., Shard]
MakeManager = Callable[..., GatewayManager]


def resumed(sim: DiscordSimulator, n: int) -> bool:
    """`n` RESUMEs received so far."""
    return len(sim.resumes) == n


async def ready_shard(
    sim: DiscordSimulator, make_shard: Callable[..., Shard], **options: Any
) -> Shard:
    """A shard started against `sim` and READY."""
    shard = make_shard(sim, **options)
    shard.start()
    await sim.wait_ready()
    await eventually(lambda: shard.status is ShardStatus.READY)
    return shard


async def ready_manager(
    sim: DiscordSimulator,
    make_manager: Callable[..., GatewayManager],
    seen: list[int],
    **options: Any,
) -> GatewayManager:
    """A manager started against `sim` and READY, appending each NUMBERED's n to `seen`."""

    async def handler(data: Any, shard: Shard) -> None:
        seen.append(data["n"])

    mgr = make_manager(sim, **options)
    mgr.on("NUMBERED", handler)
    await mgr.start()
    await asyncio.wait_for(mgr.wait_for("ready"), 5)
    return mgr


class StepSleep:
    """Reconnect waits recorded and skipped (the fake clock moves by them)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.delays: list[float] = []

    def clock(self) -> float:
        return self.now

    def clocks(self, random: Callable[[], float]) -> Clocks:
        """This clock and sleep, with `random` for the jitter."""
        return Clocks(monotonic=self.clock, sleep=self, random=random)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.now += delay
        await asyncio.sleep(0)


class Recorder:
    """A dispatch callback for bare shards: (event, data) in arrival order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def __call__(self, event: str, data: Any, shard: Shard) -> None:
        self.events.append((event, data))

    def names(self) -> list[str]:
        return [e for e, _ in self.events]

    def numbers(self, event: str = "NUMBERED") -> list[int]:
        return [d["n"] for e, d in self.events if e == event]


@pytest.fixture
async def make_sim() -> AsyncIterator[Callable[..., Awaitable[DiscordSimulator]]]:
    sims: list[DiscordSimulator] = []

    async def make(**options: Any) -> DiscordSimulator:
        options.setdefault("heartbeat_interval_ms", 1000)
        options.setdefault("identify_interval", 0.0)
        sim = DiscordSimulator(**options)
        await sim.start()
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        await sim.stop()


@pytest.fixture
async def sim(make_sim: Callable[..., Awaitable[DiscordSimulator]]) -> DiscordSimulator:
    return await make_sim()


@pytest.fixture
async def make_shard() -> AsyncIterator[Callable[..., Shard]]:
    shards: list[Shard] = []

    def make(sim: DiscordSimulator, **options: Any) -> Shard:
        """`options`: ShardContext's fields (token, timings, clocks, dispatch...), `shard_id`,
        `shard_count`, `session` and `presence`."""
        shard_id = options.pop("shard_id", 0)
        shard_count = options.pop("shard_count", 1)
        own = {name: options.pop(name) for name in ("session", "presence") if name in options}
        options.setdefault("token", sim.token)
        options.setdefault("intents", 1)
        options.setdefault("gateway_url", lambda: sim.gateway_url)
        options.setdefault("timings", FAST)  # identify_interval 0: no identify throttle
        shard = Shard(shard_id, shard_count, ShardContext(**options), **own)
        shards.append(shard)
        return shard

    yield make
    for shard in shards:
        await shard.stop(resumable=False)


@pytest.fixture
async def make_manager() -> AsyncIterator[Callable[..., GatewayManager]]:
    managers: list[GatewayManager] = []

    def make(sim: DiscordSimulator, **options: Any) -> GatewayManager:
        config = GatewayConfig(
            token=sim.token,
            intents=options.pop("intents", 1),
            compression=options.pop("compression", "zlib-stream"),
            shard_count=options.pop("shard_count", None),
            shard_ids=options.pop("shard_ids", None),
            state_dir=options.pop("state_dir", None),
            api_base=sim.api_base,
        )
        options.setdefault("timings", FAST)  # identify_interval 0: no identify throttle
        fetch = options.pop("fetch", None) or fetcher(sim)
        manager = GatewayManager(config, fetch, **options)
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        await manager.stop(resumable=False)
