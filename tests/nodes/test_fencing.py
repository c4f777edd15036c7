"""The lease scripts against a real redis-server (gateway/connection/lease_store.py,
lease.py): fencing numbers only grow, a lease is renewed, confirmed and released only by its
holder, a checkpoint is written only under a lease still held in Redis (whatever the writer
believes), and a node started again on its STATE_DIR takes back its earlier incarnation's
leases at once, never another node's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from gateway.connection.lease import FencedSessionStore, Lease, LeaseTimings, node_id
from gateway.connection.lease_store import LeaseStore
from gateway.connection.redis_store import PREFIX
from gateway.connection.session import SessionState
from tests.support.harness.redis_server import redis_server
from tests.support.tools import require_tool

TTL_MS = 300
TIMINGS = LeaseTimings.scaled(1.0)


@pytest.fixture
async def client() -> AsyncIterator[aioredis.Redis]:
    async with redis_server(require_tool("redis-server")) as url:
        redis = aioredis.Redis.from_url(url)
        try:
            yield redis
        finally:
            await redis.aclose()


def _lease(store: LeaseStore, name: str, fence: int) -> Lease:
    now = time.monotonic()
    return Lease(name, fence, store.token(fence), time.time(), now + 3600, time.monotonic,
                 store, TIMINGS)  # fmt: skip


async def test_fences_grow_and_only_the_holder_renews_confirms_or_releases(
    client: aioredis.Redis,
) -> None:
    a, b = LeaseStore(client, "a~1", PREFIX), LeaseStore(client, "b~1", PREFIX)
    first = await a.acquire("3", TTL_MS)
    assert first is not None and first.last == ""
    assert await b.acquire("3", TTL_MS) is None  # held
    token = a.token(first.fence)
    assert await b.release({"3": b.token(first.fence)}) == 0  # not b's to release
    assert await client.get(PREFIX + "lease:3") == token.encode()
    beat = await a.heartbeat({"3": token}, TTL_MS)
    assert beat.renewed == frozenset({"3"})
    assert await a.confirm("3", token, TTL_MS)
    await asyncio.sleep(TTL_MS / 1000 + 0.1)  # expired: b takes it, with a larger fence
    second = await b.acquire("3", TTL_MS)
    assert second is not None and second.fence > first.fence and second.last == "a~1|held"
    assert not await a.confirm("3", token, TTL_MS)
    assert (await a.heartbeat({"3": token}, TTL_MS)).renewed == frozenset()
    assert await a.release({"3": token}) == 0
    assert await b.release({"3": b.token(second.fence)}) == 1
    third = await a.acquire("3", TTL_MS)
    assert third is not None and third.last == "b~1|released"


async def test_a_checkpoint_is_written_only_under_the_lease_held_in_redis(
    client: aioredis.Redis,
) -> None:
    a, b = LeaseStore(client, "a~1", PREFIX), LeaseStore(client, "b~1", PREFIX)
    taken = await a.acquire("0", TTL_MS)
    assert taken is not None
    held = {0: _lease(a, "0", taken.fence)}
    sessions = FencedSessionStore(client, a, held)
    state = SessionState(0, 8, "session-a", 10, "ws://resume")
    await sessions.save_all([state])
    assert (await sessions.load_all(8, [0]))[0].seq == 10
    await asyncio.sleep(TTL_MS / 1000 + 0.1)
    assert await b.acquire("0", TTL_MS) is not None  # b holds shard 0 now
    # a still believes its lease valid (a frozen node that woke up): Redis refuses the write
    assert held[0].valid()
    await sessions.save_all([SessionState(0, 8, "session-a", 99, "ws://resume")])
    assert await sessions.load_all(8, [0]) == {}
    held[0].valid_until = 0.0  # past its local deadline: not even sent
    await sessions.save_all([state])
    assert await client.exists(PREFIX + "session:0") == 0


async def test_a_restarted_node_takes_back_its_own_leases_at_once(
    client: aioredis.Redis, tmp_path: Path
) -> None:
    first, again = node_id(tmp_path), node_id(tmp_path)
    other = node_id(tmp_path / "elsewhere")
    assert first.split("~")[0] == again.split("~")[0] != other.split("~")[0]
    assert first != again
    old, new = LeaseStore(client, first, PREFIX), LeaseStore(client, again, PREFIX)
    stranger = LeaseStore(client, other, PREFIX)
    assert await old.acquire("1", 60_000) is not None
    assert await stranger.acquire("2", 60_000) is not None
    await old.heartbeat({}, 60_000)
    assert await new.retire_earlier() == [first]
    retaken = await new.acquire("1", 60_000)  # no waiting out the 60 s
    assert retaken is not None and retaken.last == f"{first}|held"
    assert await new.acquire("2", 60_000) is None  # another node's: never
    assert new.earlier(first) and not new.earlier(other) and not new.earlier(again)
    beat = await stranger.heartbeat({}, 60_000)
    assert first in beat.dead  # its journal is anyone's to adopt now
