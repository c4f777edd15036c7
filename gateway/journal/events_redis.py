"""The events' store in Redis (REDIS_URL; events.py has what it keeps), under `prefix`:

- `shard:{n}`: a hash, event id -> its row: the pending gateway events that came on shard n,
  read by the node that holds n (`load(shards)` at start, `take_shard(n)` at a takeover);
- `pending:{group}`: a hash, event id -> its row: the other pending events of one group
  (SHARD_IDS, or "all"; with SHARD_IDS=auto the node, `node:{id}`). `adopt(group)` moves
  another group's into this one's in one script: the node that runs it gets them, any other
  gets nothing;
- `dead`: a hash, event id -> its row: the dead letters of every node;
- `mark:<session key>`: `seq:at`, the highest seq journaled of a gateway session and when,
  expiring MARK_KEEP after its last write;
- `webhooks`: a sorted set of Webhook Event ids by the time they were seen;
- `webhook-claim:<id>`: a node took that Webhook Event and has not journaled it yet (expires
  after WEBHOOK_CLAIM): `claim_webhook` asks both in one script.

`events`, the one hash of an earlier version (every node's pending events), is taken into
this group's at `load` (adopted like a dead node's). Each group of changes is one MULTI/EXEC
transaction, sent by the one writer in order. As durable as the Redis server is configured to
be (appendonly for a restart of Redis itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from gateway.journal.events import (
    MARK_KEEP,
    WEBHOOK_CLAIM,
    Change,
    Contents,
    Marks,
    Row,
    WebhookClaim,
)
from gateway.redis_client import connected

DEFAULT_PREFIX = "discord:events:"
SCAN_COUNT = 2000
LEGACY = "events"

# KEYS: their pending, ours -> the rows moved (id, row, ...): those ours did not hold yet
_ADOPT = """
local rows = redis.call('HGETALL', KEYS[1])
local moved = {}
for i = 1, #rows, 2 do
  if redis.call('HSETNX', KEYS[2], rows[i], rows[i + 1]) == 1 then
    moved[#moved + 1] = rows[i]
    moved[#moved + 1] = rows[i + 1]
  end
end
redis.call('DEL', KEYS[1])
return moved
"""

#: A Webhook Event id: 0 when journaled already (the webhooks set), 1 when claimed now (a key
#: of its own, expiring: the claim of a node that dies before journaling it lapses), 2 when
#: another node's claim holds it.
_CLAIM = """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then return 1 end
return 2
"""
_CLAIMS = (WebhookClaim.SEEN, WebhookClaim.NEW, WebhookClaim.BUSY)

# KEYS: ours, dead; ARGV: id, row, ...: each added to ours unless known (ours, or dead)
_ADD = """
for i = 1, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then
    redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 0
"""

# KEYS: dead, ours; ARGV: the ids (none: every dead letter) -> the rows moved (id, row, ...)
_TAKE_DEAD = """
local ids = ARGV
if #ids == 0 then ids = redis.call('HKEYS', KEYS[1]) end
local moved = {}
for _, id in ipairs(ids) do
  local row = redis.call('HGET', KEYS[1], id)
  if row then
    redis.call('HDEL', KEYS[1], id)
    redis.call('HSET', KEYS[2], id, row)
    moved[#moved + 1] = id
    moved[#moved + 1] = row
  end
end
return moved
"""


def _pairs(flat: list[Any]) -> list[Row]:
    return [(flat[i].decode(), flat[i + 1]) for i in range(0, len(flat), 2)]


class RedisEventStore:
    def __init__(
        self, client: aioredis.Redis, prefix: str = DEFAULT_PREFIX, *, group: str = "all"
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._own = self.pending_key(group)
        self._dead = prefix + "dead"
        self._marks = prefix + "mark:"
        self._webhooks = prefix + "webhooks"
        self._add = client.register_script(_ADD)
        self._claim = client.register_script(_CLAIM)
        self._adopt = client.register_script(_ADOPT)
        self._take_dead = client.register_script(_TAKE_DEAD)

    @classmethod
    async def open(
        cls, url: str, prefix: str = DEFAULT_PREFIX, *, group: str = "all"
    ) -> RedisEventStore:
        return cls(await connected(url), prefix, group=group)

    def pending_key(self, group: str) -> str:
        return f"{self._prefix}pending:{group}"

    def shard_key(self, shard: int) -> str:
        return f"{self._prefix}shard:{shard}"

    def __repr__(self) -> str:
        return f"RedisEventStore({self._own!r})"

    async def load(self, shards: Sequence[int] | None = None) -> Contents:
        await self._adopt(keys=[self._prefix + LEGACY, self._own], args=[])
        contents = Contents(marks=await self._read_marks())
        contents.pending = await self._scan(self._own)
        if shards is None:
            pattern = self._prefix + "shard:*"
            keys = [k.decode() async for k in self._redis.scan_iter(pattern, count=SCAN_COUNT)]
            shards = [int(k.rpartition(":")[2]) for k in keys]
        for shard in shards:
            rows = await self._scan(self.shard_key(shard))
            contents.pending += rows
            contents.shards.update((event_id, shard) for event_id, _ in rows)
        contents.dead = await self._scan(self._dead)
        seen: list[Any] = list(await self._redis.zrange(self._webhooks, 0, -1, withscores=True))
        for member, score in seen:
            contents.webhooks[member.decode()] = float(score)
        return contents

    async def _scan(self, key: str) -> list[Row]:
        # HSCAN may return a field twice (a rehash meanwhile): keyed by id, once each.
        rows: dict[str, bytes] = {}
        async for event_id, row in self._redis.hscan_iter(key, count=SCAN_COUNT):
            rows[event_id.decode()] = row
        return list(rows.items())

    async def _read_marks(self) -> Marks:
        keys: list[bytes] = [
            k async for k in self._redis.scan_iter(self._marks + "*", count=SCAN_COUNT)
        ]
        values: list[Any] = list(await self._redis.mget(keys)) if keys else []
        marks: Marks = {}
        for key, value in zip(keys, values, strict=True):
            if isinstance(value, bytes):
                seq, _, at = value.decode().partition(":")
                marks[key.decode()[len(self._marks) :]] = (int(seq), float(at))
        return marks

    async def claim_webhook(self, webhook_id: str) -> WebhookClaim:
        keys = [self._webhooks, f"{self._prefix}webhook-claim:{webhook_id}"]
        found = await self._claim(keys=keys, args=[webhook_id, int(WEBHOOK_CLAIM * 1000)])
        return _CLAIMS[int(found)]

    async def take_shard(self, shard: int) -> Contents:
        rows = await self._scan(self.shard_key(shard))
        shards = {event_id: shard for event_id, _ in rows}
        return Contents(rows, shards=shards, marks=await self._read_marks())

    async def apply(self, changes: Sequence[Change[Any]]) -> None:
        pipe = self._redis.pipeline(transaction=True)
        for change in changes:
            shards = change.shards
            adds: dict[str, list[Any]] = {}
            for event in change.add:
                adds.setdefault(self._pending(event.id, shards), []).extend(
                    (event.id, event.to_row())
                )
            for key, rows in adds.items():
                await self._add(keys=[key, self._dead], args=rows, client=pipe)
            for event in change.put:
                into, out = self._pending(event.id, shards), self._dead
                if event.dead:
                    into, out = out, into
                pipe.hset(into, event.id, event.to_row())
                pipe.hdel(out, event.id)
            if change.remove:
                pipe.hdel(self._own, *change.remove)
                pipe.hdel(self._dead, *change.remove)
                for event_id in change.remove:
                    if event_id in shards:
                        pipe.hdel(self.shard_key(shards[event_id]), event_id)
            for key, (seq, at) in change.marks.items():
                pipe.set(self._marks + key, f"{seq}:{at}", ex=int(MARK_KEEP))
            if change.webhooks:
                pipe.zadd(self._webhooks, dict(change.webhooks))
            if change.prune_before is not None:
                pipe.zremrangebyscore(self._webhooks, "-inf", f"({change.prune_before}")
        await pipe.execute()

    def _pending(self, event_id: str, shards: dict[str, int]) -> str:
        """Where a pending event is kept: with its shard, or with this group."""
        shard = shards.get(event_id)
        return self._own if shard is None else self.shard_key(shard)

    async def adopt(self, group: str) -> Contents:
        theirs = self.pending_key(group)
        moved: list[Row] = []
        if theirs != self._own:
            moved = _pairs(await self._adopt(keys=[theirs, self._own], args=[]))
        return Contents(moved, marks=await self._read_marks())

    async def dead(self) -> list[Row]:
        return await self._scan(self._dead)

    async def take_dead(self, ids: Sequence[str] | None) -> list[Row]:
        if ids is not None and not ids:
            return []
        chosen = [] if ids is None else list(dict.fromkeys(ids))
        return _pairs(await self._take_dead(keys=[self._dead, self._own], args=chosen))

    async def forget_dead(self, ids: Sequence[str] | None) -> int:
        if ids is None:
            pipe = self._redis.pipeline(transaction=True)
            pipe.hlen(self._dead)
            pipe.delete(self._dead)
            count, _ = await pipe.execute()
            return int(count)
        if not ids:
            return 0
        return int(await self._redis.hdel(self._dead, *set(ids)))

    async def aclose(self) -> None:
        await self._redis.aclose()
