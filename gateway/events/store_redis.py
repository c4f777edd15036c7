"""The events journal in Redis (REDIS_URL), under `prefix`:

- `events`: a hash, event id -> its row (a line of metadata, then the event's JSON);
- `mark:<session key>`: `seq:at`, the highest seq journaled of a gateway session and when,
  expiring MARK_KEEP after its last write;
- `webhooks`: a sorted set of Webhook Event ids by the time they were seen.

Each group of changes is one MULTI/EXEC transaction, sent by the one writer in order. As
durable as the Redis server is configured to be (appendonly for a restart of Redis itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from gateway.events.model import Event
from gateway.events.store import MARK_KEEP, Change, Contents
from gateway.redis_client import connected

DEFAULT_PREFIX = "discord:events:"
SCAN_COUNT = 2000


class RedisEventStore:
    def __init__(self, client: aioredis.Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = client
        self._events = prefix + "events"
        self._marks = prefix + "mark:"
        self._webhooks = prefix + "webhooks"

    @classmethod
    async def open(cls, url: str, prefix: str = DEFAULT_PREFIX) -> RedisEventStore:
        return cls(await connected(url), prefix)

    def __repr__(self) -> str:
        return f"RedisEventStore({self._events!r})"

    async def load(self) -> Contents:
        contents = Contents()
        async for event_id, row in self._redis.hscan_iter(self._events, count=SCAN_COUNT):
            contents.events.append(Event.from_row(event_id.decode(), row))
        contents.events.sort(key=lambda e: e.n)
        keys: list[bytes] = [
            k async for k in self._redis.scan_iter(self._marks + "*", count=SCAN_COUNT)
        ]
        values: list[Any] = list(await self._redis.mget(keys)) if keys else []
        for key, value in zip(keys, values, strict=True):
            if isinstance(value, bytes):
                seq, _, at = value.decode().partition(":")
                contents.marks[key.decode()[len(self._marks) :]] = (int(seq), float(at))
        seen: list[Any] = list(await self._redis.zrange(self._webhooks, 0, -1, withscores=True))
        for member, score in seen:
            contents.webhooks[member.decode()] = float(score)
        return contents

    async def apply(self, changes: Sequence[Change]) -> None:
        pipe = self._redis.pipeline(transaction=True)
        for change in changes:
            if change.add:
                for event in change.add:
                    pipe.hsetnx(self._events, event.id, event.to_row())
            if change.put:
                pipe.hset(self._events, mapping={e.id: e.to_row() for e in change.put})
            if change.remove:
                pipe.hdel(self._events, *change.remove)
            for key, (seq, at) in change.marks.items():
                pipe.set(self._marks + key, f"{seq}:{at}", ex=int(MARK_KEEP))
            if change.webhooks:
                pipe.zadd(self._webhooks, dict(change.webhooks))
            if change.prune_before is not None:
                pipe.zremrangebyscore(self._webhooks, "-inf", f"({change.prune_before}")
        await pipe.execute()

    async def aclose(self) -> None:
        await self._redis.aclose()
