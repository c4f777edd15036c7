"""The timer stores (memory, SQLite in STATE_DIR, Redis): a change is one transaction, later
changes win, and a new store on the same place finds what was written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from gateway.journal.timers import Change, MemoryTimerStore, TimerStore
from gateway.journal.timers_redis import RedisTimerStore
from gateway.journal.timers_sqlite import SqliteTimerStore
from gateway.timers.model import Delivery, Kind, Timer
from tests.support.harness.redis_server import redis_server
from tests.support.tools import require_tool
from tests.timers.support import T0, spec

Opener = Callable[[], Awaitable[TimerStore]]


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def opener(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    if request.param == "memory":
        memory = MemoryTimerStore()

        async def same() -> TimerStore:
            return memory

        yield same
    elif request.param == "sqlite":

        async def sqlite() -> TimerStore:
            return await SqliteTimerStore.open(tmp_path / "state")

        yield sqlite
    else:
        require_tool("redis-server")
        async with redis_server() as url:

            async def redis() -> TimerStore:
                return await RedisTimerStore.open(url, prefix="test:timers:")

            yield redis


async def test_changes_survive_a_reopen(opener: Opener) -> None:
    store = await opener()
    a = Timer.new(spec("a", duration_ms=1_000), T0)
    b = Timer.new(spec("b", duration_ms=2_000, payload={"x": [1, 2]}), T0)
    fire = Delivery("d1", "a", Kind.FIRE, T0 + 1_000, None, {"x": 1})
    reminder = Delivery("d2", "b", Kind.REMINDER, T0 + 500, 1_500, None)
    # Written together (one transaction each), the later change to `a` wins.
    await asyncio.gather(
        store.write(Change(timers=[a, b], deliveries=[fire, reminder])),
        store.write(Change(timers=[a.rebased(T0 + 10, 5_000)], done=["d2"])),
    )
    await store.write(Change(forget=["b"]))
    await store.aclose()

    again = await opener()
    contents = await again.load()
    [timer] = [Timer.from_json(raw) for raw in contents.timers]
    assert timer.id == "a" and timer.run_ms == 5_000 and timer.due_at == T0 + 5_010
    assert [Delivery.from_json(raw) for raw in contents.outbox] == [fire]
    await again.aclose()


async def test_the_sqlite_file_is_private(tmp_path: Path) -> None:
    store = await SqliteTimerStore.open(tmp_path / "state")
    await store.write(Change(timers=[Timer.new(spec(), T0)]))
    await store.aclose()
    for path in (tmp_path / "state").iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700
