"""The events journal's stores: SQLite in STATE_DIR (files 0600) and Redis keep the same
things: pending and dead events in arrival order, the session marks, the webhook ids."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.events.model import Event
from gateway.events.store import Change, EventStore, MemoryEventStore, open_event_store
from gateway.events.store_sqlite import SqliteEventStore
from tests.support.harness.redis_server import redis_server
from tests.support.tools import require_tool


def event(n: int, guild: str | None = "1") -> Event:
    made = Event.make(f"k:{n}", "MESSAGE_CREATE", "gateway", 0, guild, 1000 + n, {"n": n})
    made.n = n
    return made


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    if request.param == "memory":
        yield MemoryEventStore()
    elif request.param == "sqlite":
        found = await open_event_store(tmp_path, None)
        assert isinstance(found, SqliteEventStore)
        yield found
        await found.aclose()
        for path in tmp_path.iterdir():
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    else:
        require_tool("redis-server")
        async with redis_server() as url:
            found = await open_event_store(tmp_path, url)
            yield found
            await found.aclose()


async def test_what_is_written_is_loaded_in_order(store: EventStore) -> None:
    events = [event(n) for n in range(1, 6)]
    await store.apply(
        [
            Change(add=events[:3], marks={"k": (3, 100.0)}),
            Change(add=events[3:], marks={"k": (5, 101.0)}, webhooks={"w:1": 100.0}),
        ]
    )
    events[1].dead, events[1].attempts, events[1].status = True, 1, 400
    await store.apply([Change(remove=["k:1"], put=[events[1]]), Change(add=[event(2, "x")])])
    loaded = await store.load()
    assert [e.id for e in loaded.events] == ["k:2", "k:3", "k:4", "k:5"]
    dead = loaded.events[0]
    assert dead.dead and dead.attempts == 1 and dead.status == 400 and dead.guild_id == "1"
    assert loaded.events[1].body == events[2].body  # the event as it was first written
    assert loaded.marks == {"k": (5, 101.0)}
    assert loaded.webhooks == {"w:1": 100.0}
    await store.apply([Change(prune_before=100.5)])
    assert (await store.load()).webhooks == {}
