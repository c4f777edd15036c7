"""Checklist 18: with REDIS_URL, what shards of several processes share through Redis.

- `RedisIdentifyLock`: the identify throttle across processes. One key per bucket
  `shard_id % max_concurrency`, taken with `SET key token NX PX hold` (the hold is the identify
  interval plus its margin, so the key's expiry is the throttle: no release). Once the IDENTIFY
  went out the hold is re-armed from that moment, if the key is still ours.
- `RedisSessionStore`: session checkpoints, one key per shard with a TTL of the resumable age,
  so a container moved to another host (another STATE_DIR) resumes the session.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, Final

import orjson
from redis.asyncio import Redis

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.connection.protocol import IDENTIFY_INTERVAL, IDENTIFY_MARGIN, SESSION_MAX_AGE
from gateway.connection.session import SessionState

log = logging.getLogger("gateway.manager")

PREFIX: Final = "companion:gateway:"
POLL: Final = 0.05  # seconds between tries while a bucket is held (at most its PTTL)

# PEXPIRE only if the key still holds our token (another process may hold it by now).
_REARM: Final = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


class RedisIdentifyLock:
    def __init__(
        self,
        client: Redis,
        max_concurrency: int = 1,
        *,
        prefix: str = PREFIX,
        hold: float = IDENTIFY_INTERVAL + IDENTIFY_MARGIN,
        clocks: Clocks = SYSTEM_CLOCKS,
    ) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self._client = client
        self._prefix = prefix
        self._hold_ms = int(hold * 1000)
        self._clock = clocks.monotonic
        self._sleep = clocks.sleep
        self._tokens: dict[int, str] = {}

    def key(self, shard_id: int) -> str:
        return f"{self._prefix}identify:{shard_id % self.max_concurrency}"

    async def acquire(self, shard_id: int) -> float:
        key = self.key(shard_id)
        token = secrets.token_hex(8)
        start = self._clock()
        while not await self._client.set(key, token, nx=True, px=self._hold_ms):
            ttl = await self._client.pttl(key)
            await self._sleep(min(max(ttl, 1) / 1000.0, 1.0) if ttl > 0 else POLL)
        self._tokens[shard_id] = token
        return self._clock() - start

    async def sent(self, shard_id: int) -> None:
        token = self._tokens.pop(shard_id, None)
        if token is not None:
            await self._client.eval(_REARM, 1, self.key(shard_id), token, self._hold_ms)


class RedisSessionStore:
    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = PREFIX,
        max_age: float = SESSION_MAX_AGE,
        clocks: Clocks = SYSTEM_CLOCKS,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self.max_age = max_age
        self._clock = clocks.wall

    def key(self, shard_id: int) -> str:
        return f"{self._prefix}session:{shard_id}"

    async def save_all(self, sessions: list[SessionState]) -> None:
        now = self._clock()
        async with self._client.pipeline(transaction=False) as pipe:
            for s in sessions:
                body = orjson.dumps(asdict(s) | {"saved_at": now})
                pipe.set(self.key(s.shard_id), body, px=int(self.max_age * 1000))
            await pipe.execute()

    async def load_all(self, shard_count: int, shard_ids: Sequence[int]) -> dict[int, SessionState]:
        if not shard_ids:
            return {}
        keys = [self.key(i) for i in shard_ids]
        raws: list[Any] = await self._client.mget(keys)
        await self._client.delete(*keys)  # consumed, as the file is
        now = self._clock()
        fresh: dict[int, SessionState] = {}
        for raw in raws:
            if raw is None:
                continue
            try:
                s = SessionState(**orjson.loads(raw))
            except (orjson.JSONDecodeError, TypeError):
                log.warning("gateway session in Redis ignored: malformed")
                continue
            if s.shard_count == shard_count and 0 <= now - s.saved_at <= self.max_age:
                fresh[s.shard_id] = s
        return fresh

    async def clear_all(self, shard_ids: Sequence[int]) -> None:
        if shard_ids:
            await self._client.delete(*(self.key(i) for i in shard_ids))
