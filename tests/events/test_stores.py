"""The events journal's stores (gateway/journal/events*.py): memory, SQLite in STATE_DIR (files
0600) and Redis keep the same things: pending and dead events in arrival order, the session
marks, the webhook ids; dead letters moved back to pending (a replay) or forgotten. With Redis,
gateway events are kept with their shard (read by its holder), a group's other pending events
are its own (adopted whole by one other group), and the dead letters are every group's."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.events.dead_letters import decoded
from gateway.events.model import Event
from gateway.journal.events import Change, EventStore, MemoryEventStore, open_event_store
from gateway.journal.events_sqlite import SqliteEventStore
from gateway.redis_client import redis_client
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
    pending, dead = decoded(loaded.pending), decoded(loaded.dead)
    assert [e.id for e in pending] == ["k:3", "k:4", "k:5"]
    assert [e.id for e in dead] == ["k:2"]
    assert dead[0].dead and dead[0].attempts == 1 and dead[0].status == 400
    assert dead[0].guild_id == "1"
    assert pending[0].body == events[2].body  # the event as it was first written
    assert loaded.marks == {"k": (5, 101.0)}
    assert loaded.webhooks == {"w:1": 100.0}
    await store.apply([Change(prune_before=100.5)])
    assert (await store.load()).webhooks == {}


async def test_hundreds_of_adds_and_removes_in_one_transaction(store: EventStore) -> None:
    """A transaction's adds are written in multi-row statements of several sizes (SQLite):
    every row lands once, in order, the first of a repeated id kept, none that is a dead
    letter; the removes of one transaction go together too."""
    gone = event(7)
    gone.dead = True
    await store.apply([Change(put=[gone])])
    first, again = event(11), event(11, "other")
    adds = [event(n) for n in range(1, 342) if n not in (7, 11)]
    await store.apply([Change(add=[first, *adds[:200], again, event(7), *adds[200:]])])
    pending = decoded((await store.load()).pending)
    assert [e.id for e in pending] == [e.id for e in sorted([first, *adds], key=lambda e: e.n)]
    assert next(e for e in pending if e.id == "k:11").guild_id == "1"  # the first one kept
    assert [e.id for e in decoded(await store.dead())] == ["k:7"]  # still a dead letter only
    await store.apply([Change(remove=[e.id for e in adds[::2]] + ["k:7", "nope"])])
    left = decoded((await store.load()).pending)
    assert [e.id for e in left] == [e.id for e in sorted([first, *adds[1::2]], key=lambda e: e.n)]
    assert await store.dead() == []


async def test_dead_letters_are_taken_back_or_forgotten(store: EventStore) -> None:
    events = [event(n) for n in range(1, 5)]
    for dead in events:
        dead.dead = True
    await store.apply([Change(put=events)])
    assert [e.id for e in decoded(await store.dead())] == ["k:1", "k:2", "k:3", "k:4"]
    taken = decoded(await store.take_dead(["k:2", "k:2", "nope"]))
    assert [e.id for e in taken] == ["k:2"] and taken[0].dead  # moved as it was
    loaded = await store.load()
    assert [i for i, _ in loaded.pending] == ["k:2"]
    assert sorted(i for i, _ in loaded.dead) == ["k:1", "k:3", "k:4"]
    assert await store.take_dead([]) == []
    assert await store.forget_dead(["k:3", "k:3", "nope"]) == 1
    assert await store.forget_dead(None) == 2
    assert await store.dead() == []
    assert decoded(await store.take_dead(None)) == []


async def test_redis_groups_keep_their_own_pending_and_share_the_dead_letters() -> None:
    async with redis_server(require_tool("redis-server")) as url:
        a = await open_event_store(None, url, group="node:a")
        b = await open_event_store(None, url, group="node:b")
        c = await open_event_store(None, url, group="node:c")
        try:
            mine = [event(n, "g1") for n in range(1, 4)]
            letter = event(9, "g2")
            letter.dead = True
            await a.apply([Change(add=mine, marks={"k": (3, 100.0)}), Change(put=[letter])])
            await b.apply([Change(add=[event(20, "g3")], marks={"kb": (20, 100.0)})])
            # each loads only its own pending events; every dead letter; every mark
            assert sorted(i for i, _ in (await b.load()).pending) == ["k:20"]
            for store in (a, b, c):
                loaded = await store.load()
                assert [i for i, _ in loaded.dead] == ["k:9"]
                assert loaded.marks == {"k": (3, 100.0), "kb": (20, 100.0)}
            # c holds one of a's ids already (a replayed dispatch): kept, not moved twice
            await c.apply([Change(add=[event(3, "g1")])])
            adopted = await c.adopt("node:a")
            assert [e.id for e in decoded(adopted.pending)] == ["k:1", "k:2"]
            assert adopted.marks == {"k": (3, 100.0), "kb": (20, 100.0)}
            assert (await b.adopt("node:a")).pending == []  # one adopter gets them
            assert (await a.load()).pending == []
            assert sorted(i for i, _ in (await c.load()).pending) == ["k:1", "k:2", "k:3"]
            assert (await c.adopt("node:c")).pending == []  # never its own
            # gateway events are kept with their shard: whoever holds it reads them
            on_shard = [event(30, "g4"), event(31, "g4")]
            where = {e.id: 4 for e in on_shard}
            await a.apply([Change(add=on_shard, shards=where)])
            assert [i for i, _ in (await a.load([])).pending] == []
            assert sorted((await b.load([4])).shards) == ["k:30", "k:31"]
            assert sorted((await b.load(None)).shards) == ["k:30", "k:31"]  # every shard
            taken = await c.take_shard(4)
            assert [e.id for e in decoded(taken.pending)] == ["k:30", "k:31"]
            assert taken.shards == where and "k" in taken.marks
            await c.apply([Change(remove=["k:30"], shards={"k:30": 4})])
            assert [i for i, _ in (await a.take_shard(4)).pending] == ["k:31"]
            # a dead letter replayed on b is b's to deliver
            assert [i for i, _ in await b.take_dead(None)] == ["k:9"]
            assert sorted(i for i, _ in (await b.load([])).pending) == ["k:20", "k:9"]
            assert await a.dead() == []
        finally:
            for store in (a, b, c):
                await store.aclose()


async def test_redis_takes_the_hash_of_an_earlier_version_into_its_group() -> None:
    async with redis_server(require_tool("redis-server")) as url:
        client = redis_client(url)
        old = event(1)
        await client.hset("discord:events:events", old.id, old.to_row())
        store = await open_event_store(None, url, group="node:x")
        try:
            loaded = await store.load()
            assert [e.id for e in decoded(loaded.pending)] == ["k:1"]
            assert await client.exists("discord:events:events") == 0
        finally:
            await store.aclose()
            await client.aclose()
