"""Timers in Redis (REDIS_URL), under `prefix`:

- `timers`: a hash, timer id -> the timer record (JSON);
- `due`: a sorted set of the running timers by due time (unix ms), so another process can
  read what falls due without loading every record;
- `outbox`: a hash, delivery id -> the delivery, until the main app's 2xx.

Each group of changes is one MULTI/EXEC transaction, sent by one writer in order. As durable
as the Redis server is configured to be (appendonly for a restart of Redis itself).
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from gateway.journal.timers import Change, Contents, GroupCommitted
from gateway.redis_client import connected

DEFAULT_PREFIX = "discord:timers:"
#: Records read per HSCAN round trip at load.
SCAN_COUNT = 2000


class RedisTimerStore(GroupCommitted):
    def __init__(self, client: aioredis.Redis, prefix: str = DEFAULT_PREFIX) -> None:
        super().__init__()
        self._redis = client
        self._timers = prefix + "timers"
        self._due = prefix + "due"
        self._outbox = prefix + "outbox"

    @classmethod
    async def open(cls, url: str, prefix: str = DEFAULT_PREFIX) -> RedisTimerStore:
        return cls(await connected(url), prefix)

    def __repr__(self) -> str:
        return f"RedisTimerStore({self._timers!r})"

    async def load(self) -> Contents:
        # HSCAN may return a field twice (a rehash meanwhile): keyed by id, once each.
        timers: dict[bytes, bytes] = {}
        async for key, raw in self._redis.hscan_iter(self._timers, count=SCAN_COUNT):
            timers[key] = raw
        outbox: dict[bytes, bytes] = {}
        async for key, raw in self._redis.hscan_iter(self._outbox, count=SCAN_COUNT):
            outbox[key] = raw
        return Contents(list(timers.values()), list(outbox.values()))

    async def apply(self, changes: Sequence[Change]) -> None:
        pipe = self._redis.pipeline(transaction=True)
        for change in changes:
            for timer in change.timers:
                pipe.hset(self._timers, timer.id, timer.to_json())
                if timer.scheduled_at is not None:
                    pipe.zadd(self._due, {timer.id: timer.scheduled_at})
                else:
                    pipe.zrem(self._due, timer.id)
            if change.forget:
                pipe.hdel(self._timers, *change.forget)
                pipe.zrem(self._due, *change.forget)
            if change.deliveries:
                pipe.hset(self._outbox, mapping={d.id: d.to_json() for d in change.deliveries})
            if change.done:
                pipe.hdel(self._outbox, *change.done)
        await pipe.execute()

    async def aclose(self) -> None:
        await self.close_writer()
        await self._redis.aclose()
