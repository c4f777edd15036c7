"""The interaction journal in Redis (REDIS_URL): every key expires 15 minutes after its
interaction began.

Keys, under `prefix`:
- `handled`: a sorted set of the handled ids by expiry (creation + 15 minutes). `claim`
  answers from memory (no round trip before the acknowledgement) and adds the id behind, in
  the next pipeline: before the `record` that follows it. `open()` loads the set, so a
  restarted process (or one that takes over another's shards) knows what was handled;
- `entry:{id}`: the entry (a JSON header line, then the raw interaction bytes);
- `pending:{group}`: a sorted set of the unfinished ids by `created_at`, so `pending()` needs
  no SCAN; a member whose entry has expired is removed when met. `group` names the shards of
  the process (SHARD_IDS, or "all"; with SHARD_IDS=auto the node, `node:{id}`): two processes
  sharing one Redis never replay each other's interactions in flight, while the handled ids
  are shared by all. `adopt(group)` moves a dead node's set into this one's, atomically (one
  node gets its entries), and returns them for redelivery.

The commands of concurrent callers share round trips (`redis_pipeline.Pipeliner`).
"""

from __future__ import annotations

import math
from typing import Any

import orjson
import redis.asyncio as aioredis

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.journal.interactions import HANDLED_TTL, MAX_REMEMBERED, JournalEntry
from gateway.journal.redis_pipeline import Command, Pipeliner
from gateway.journal.seen import SeenIds
from gateway.redis_client import redis_client

DEFAULT_PREFIX = "discord:journal:"
#: Connections of the journal's own pool.
MAX_CONNECTIONS = 16
#: How often (s, while claims come) expired handled ids leave Redis and the sets' expiry is
#: pushed back; the sets' expiry covers the 15 minutes of the last id added since.
UPKEEP_EVERY = 60.0
SET_TTL = math.ceil(HANDLED_TTL + UPKEEP_EVERY)


# KEYS: their pending set, ours -> their members with scores (moved to ours)
_ADOPT = """
local rows = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #rows, 2 do redis.call('ZADD', KEYS[2], rows[i + 1], rows[i]) end
redis.call('DEL', KEYS[1])
return rows
"""


class RedisJournal:
    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str = DEFAULT_PREFIX,
        *,
        group: str = "all",
        clocks: Clocks = SYSTEM_CLOCKS,
        owns_client: bool = False,
        limit: int = MAX_REMEMBERED,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._handled_key = prefix + "handled"
        self._pending_key = f"{prefix}pending:{group}"
        self._adopt = client.register_script(_ADOPT)
        self._clock = clocks.wall
        self._owns_client = owns_client
        self._pipeline = Pipeliner(client)
        self._seen = SeenIds(HANDLED_TTL, limit)
        self._next_upkeep = 0.0

    @classmethod
    async def open(cls, url: str, prefix: str = DEFAULT_PREFIX, **options: Any) -> RedisJournal:
        """A client of its own: a bounded pool that waits for a free connection under a burst
        (rather than opening one per interaction in flight, or failing); the handled ids
        loaded."""
        client = redis_client(url, max_connections=MAX_CONNECTIONS)
        journal = cls(client, prefix, owns_client=True, **options)
        try:
            await journal.load()
        except BaseException:
            await journal.aclose()
            raise
        return journal

    async def load(self) -> None:
        """Read the handled ids that have not expired (dropping the ones that have)."""
        now = self._clock()
        await self._redis.zremrangebyscore(self._handled_key, "-inf", now)
        rows = await self._redis.zrangebyscore(self._handled_key, now, "+inf", withscores=True)
        for row in rows:
            member, expires_at = row[0], row[1]
            interaction_id = member.decode() if isinstance(member, bytes) else str(member)
            self._seen.add(interaction_id, float(expires_at) - HANDLED_TTL, now)

    def __repr__(self) -> str:  # never the URL (it may carry a password)
        return f"RedisJournal({self._pending_key!r})"

    def _ttl(self, created_at: float) -> int:
        """Seconds left of the 15 minutes (at least 1: Redis refuses EX 0)."""
        return max(1, math.ceil(created_at + HANDLED_TTL - self._clock()))

    async def claim(self, interaction_id: str, created_at: float) -> bool:
        now = self._clock()
        if not self._seen.add(interaction_id, created_at, now):
            return False
        key = self._handled_key
        commands: list[Command] = [("ZADD", key, created_at + HANDLED_TTL, interaction_id)]
        if now >= self._next_upkeep:
            # Expired ids out; both sets live SET_TTL past the last upkeep, so past every id
            # added since (they are refreshed at least every UPKEEP_EVERY seconds while used).
            self._next_upkeep = now + UPKEEP_EVERY
            commands += [
                ("ZREMRANGEBYSCORE", key, "-inf", now),
                ("EXPIRE", key, SET_TTL),
                ("EXPIRE", self._pending_key, SET_TTL),
            ]
        self._pipeline.post(commands)
        return True

    async def record(self, entry: JournalEntry) -> None:
        header = orjson.dumps({"c": entry.created_at, "m": entry.mode, "f": entry.first_response})
        key = f"{self._prefix}entry:{entry.interaction_id}"
        await self._pipeline.run(
            [
                ("SET", key, header + b"\n" + entry.raw, "EX", self._ttl(entry.created_at)),
                ("ZADD", self._pending_key, entry.created_at, entry.interaction_id),
            ]
        )

    async def finish(self, interaction_id: str) -> None:
        await self._pipeline.run(
            [
                ("DEL", f"{self._prefix}entry:{interaction_id}"),
                ("ZREM", self._pending_key, interaction_id),
            ]
        )

    async def drop(self, interaction_id: str) -> None:
        await self.finish(interaction_id)

    async def pending(self) -> list[JournalEntry]:
        members = await self._redis.zrange(self._pending_key, 0, -1)
        return await self._entries([m.decode() for m in members if isinstance(m, bytes)])

    async def adopt(self, group: str) -> list[JournalEntry]:
        """Another process's unfinished entries (a dead node's), moved into this one's set in
        one script (so only one adopter gets them), oldest first: to be redelivered here."""
        their_key = f"{self._prefix}pending:{group}"
        if their_key == self._pending_key:
            return []
        rows = await self._adopt(keys=[their_key, self._pending_key], args=[])
        ids = [m.decode() for m in rows[0::2] if isinstance(m, bytes)]
        return await self._entries(ids)

    async def _entries(self, ids: list[str]) -> list[JournalEntry]:
        if not ids:
            return []
        values = await self._redis.mget([f"{self._prefix}entry:{i}" for i in ids])
        entries: list[JournalEntry] = []
        expired: list[str] = []
        for interaction_id, value in zip(ids, values, strict=True):
            if not isinstance(value, bytes):
                expired.append(interaction_id)
                continue
            header, _, raw = value.partition(b"\n")
            meta = orjson.loads(header)
            entries.append(JournalEntry(interaction_id, meta["c"], raw, meta["m"], meta["f"]))
        if expired:
            await self._redis.zrem(self._pending_key, *expired)
        return entries

    async def aclose(self) -> None:
        await self._pipeline.wait_idle()
        if self._owns_client:
            await self._redis.aclose()
