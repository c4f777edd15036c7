"""The leases' Redis side: one script per step, so each check-and-set is atomic, every time
read from Redis's own clock (`TIME`), never from a node's.

Keys under the prefix (`companion:gateway:`):
- `lease:{name}`: `node|fence`, expiring `ttl` after its last renewal; `name` is a shard number
  or a role (`role:timers`). Taken only when absent, with a fencing number from `fence`
  (INCR: every taking has a larger one than any before). Renewed, confirmed, released and
  used to fence a write only by the holder of that exact value.
- `last:{name}`: who held it last and whether it was `released` or still `held` when it went:
  a taking after a release is a hand-over, after an expiry a takeover.
- `nodes`: sorted set, node -> expiry (ms): the live nodes, each renewed by its heartbeat.
- `departed`: sorted set, node -> when its leftovers (the journal's entries in flight) are
  anyone's; a node that left, or one whose heartbeat expired, is adopted once by one node.
- `shard_count`: the count every node uses (SHARD_COUNT, else the first node's /gateway/bot;
  raised, never lowered, when Discord closes a shard 4011: `raise_shard_count`).
- channel `leases`: `release`, `join`, `gone` and `reshard` announcements that wake every node
  at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from redis.asyncio import Redis

from gateway.redis_client import subscribe_forever

log = logging.getLogger("gateway.leases")

_NOW: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: nodes, departed, lease keys held...; ARGV: node, ttl ms, tokens (aligned with KEYS)
_HEARTBEAT: Final = (
    _NOW
    + """
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local renewed = {}
for i = 3, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then
    redis.call('PEXPIRE', KEYS[i], ttl)
    renewed[#renewed + 1] = i - 2
  end
end
local dead = {}
for k = 1, 2 do
  for _, n in ipairs(redis.call('ZRANGEBYSCORE', KEYS[k], '-inf', now)) do
    if n ~= ARGV[1] then dead[#dead + 1] = n end
  end
end
return {now, renewed, dead}
"""
)

# KEYS: lease, fence, last; ARGV: node, ttl ms, node name ("name~") -> {fence, last}
# ({0, ''} when held by another node; an earlier incarnation of this node's name is dead: its
# lease is taken at once)
_ACQUIRE: Final = """
local held = redis.call('GET', KEYS[1])
if held then
  local mine = string.sub(held, 1, #ARGV[3]) == ARGV[3]
  if not mine or string.sub(held, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then return {0, ''} end
  redis.call('SET', KEYS[3], string.match(held, '^(.*)|') .. '|held')
end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. fence, 'PX', ARGV[2])
local last = redis.call('GET', KEYS[3]) or ''
redis.call('SET', KEYS[3], ARGV[1] .. '|held')
return {fence, last}
"""

# KEYS: lease; ARGV: token, ttl ms
_CONFIRM: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# KEYS: pairs of (lease, last); ARGV: node, tokens
_RELEASE: Final = """
local n = 0
for i = 1, #KEYS, 2 do
  if redis.call('GET', KEYS[i]) == ARGV[(i + 1) / 2 + 1] then
    redis.call('DEL', KEYS[i])
    redis.call('SET', KEYS[i + 1], ARGV[1] .. '|released')
    n = n + 1
  end
end
return n
"""

# KEYS: nodes, lease keys...; -> {now, live nodes, values, pttls}
_VIEW: Final = (
    _NOW
    + """
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
local values, pttls = {}, {}
for i = 2, #KEYS do
  values[#values + 1] = redis.call('GET', KEYS[i]) or ''
  pttls[#pttls + 1] = redis.call('PTTL', KEYS[i])
end
return {now, live, values, pttls}
"""
)

# KEYS: nodes, departed; ARGV: node, ms before its leftovers are anyone's
_DEPART: Final = (
    _NOW
    + """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
return 1
"""
)

# KEYS: nodes, departed; ARGV: node, its name ("name~"): earlier incarnations are departed
_RETIRE: Final = """
local gone = {}
for _, n in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if n ~= ARGV[1] and string.sub(n, 1, #ARGV[2]) == ARGV[2] then
    redis.call('ZREM', KEYS[1], n)
    redis.call('ZADD', KEYS[2], 0, n)
    gone[#gone + 1] = n
  end
end
return gone
"""

# KEYS: nodes, departed; ARGV: node -> removed (only while still expired: not come back)
_BURY: Final = (
    _NOW
    + """
local removed = 0
for k = 1, 2 do
  local score = redis.call('ZSCORE', KEYS[k], ARGV[1])
  if score and tonumber(score) <= now then
    removed = removed + redis.call('ZREM', KEYS[k], ARGV[1])
  end
end
return removed
"""
)

# KEYS: session key, lease key; ARGV: body, px, token
_FENCED_SET: Final = """
if redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Beat:
    now_ms: int
    renewed: frozenset[str]  # names whose lease is still ours (and renewed)
    dead: tuple[str, ...]  # nodes expired or departed: their leftovers are to adopt


@dataclass(frozen=True, slots=True)
class Taken:
    fence: int
    last: str  # "node|held" / "node|released" / "" (never held)


@dataclass(frozen=True, slots=True)
class View:
    now_ms: int
    live: tuple[str, ...]
    holders: dict[str, tuple[str | None, int]]  # name -> (node or None, ms left or -2)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# KEYS: shard_count; ARGV: count -> the count, raised to ARGV[1] unless higher already
_RAISE: Final = """
local now = tonumber(redis.call('GET', KEYS[1]) or '0')
local wanted = tonumber(ARGV[1])
if now < wanted then redis.call('SET', KEYS[1], wanted) return wanted end
return now
"""


class LeaseStore:
    def __init__(self, client: Redis, node: str, prefix: str) -> None:
        self.client = client
        self.node = node
        self.prefix = prefix
        self.channel = prefix + "leases"
        self._nodes = prefix + "nodes"
        self._departed = prefix + "departed"
        self._heartbeat = client.register_script(_HEARTBEAT)
        self._acquire = client.register_script(_ACQUIRE)
        self._confirm = client.register_script(_CONFIRM)
        self._release = client.register_script(_RELEASE)
        self._view = client.register_script(_VIEW)
        self._depart = client.register_script(_DEPART)
        self._bury = client.register_script(_BURY)
        self._retire = client.register_script(_RETIRE)
        self._raise = client.register_script(_RAISE)
        self.name = node.partition("~")[0] + "~"
        self.fenced_set = client.register_script(_FENCED_SET)

    def key(self, name: str) -> str:
        return f"{self.prefix}lease:{name}"

    def token(self, fence: int) -> str:
        return f"{self.node}|{fence}"

    async def heartbeat(self, held: Mapping[str, str], ttl_ms: int) -> Beat:
        names = list(held)
        keys = [self._nodes, self._departed, *(self.key(n) for n in names)]
        args: list[str | int] = [self.node, ttl_ms, *(held[n] for n in names)]
        now, renewed, dead = await self._heartbeat(keys=keys, args=args)
        return Beat(
            int(now),
            frozenset(names[int(i) - 1] for i in renewed),
            tuple(_text(n) for n in dead),
        )

    async def acquire(self, name: str, ttl_ms: int) -> Taken | None:
        keys = [self.key(name), self.prefix + "fence", f"{self.prefix}last:{name}"]
        fence, last = await self._acquire(keys=keys, args=[self.node, ttl_ms, self.name])
        return Taken(int(fence), _text(last)) if int(fence) else None

    async def confirm(self, name: str, token: str, ttl_ms: int) -> bool:
        return bool(await self._confirm(keys=[self.key(name)], args=[token, ttl_ms]))

    async def release(self, held: Mapping[str, str]) -> int:
        if not held:
            return 0
        keys = [k for n in held for k in (self.key(n), f"{self.prefix}last:{n}")]
        return int(await self._release(keys=keys, args=[self.node, *held.values()]))

    async def view(self, names: Sequence[str]) -> View:
        keys = [self._nodes, *(self.key(n) for n in names)]
        now, live, values, pttls = await self._view(keys=keys, args=[])
        holders: dict[str, tuple[str | None, int]] = {}
        for name, value, pttl in zip(names, values, pttls, strict=True):
            text = _text(value)
            holders[name] = (text.rpartition("|")[0] or None, int(pttl))
        return View(int(now), tuple(_text(n) for n in live), holders)

    async def depart(self, adopt_after_ms: int) -> None:
        """Not live any more (the others share the shards without this node); its leftovers
        are anyone's after `adopt_after_ms` unless `gone()` says so sooner."""
        await self._depart(keys=[self._nodes, self._departed], args=[self.node, adopt_after_ms])

    async def gone(self) -> None:
        await self._depart(keys=[self._nodes, self._departed], args=[self.node, 0])

    async def retire_earlier(self) -> list[str]:
        """Earlier incarnations of this node (a crash, then a start on the same STATE_DIR):
        not live any more, their leftovers anyone's at once."""
        gone = await self._retire(keys=[self._nodes, self._departed], args=[self.node, self.name])
        return [_text(n) for n in gone]

    def earlier(self, node: str | None) -> bool:
        """`node` is an earlier incarnation of this one (its leases are this node's to take)."""
        return node is not None and node != self.node and node.startswith(self.name)

    async def bury(self, node: str) -> None:
        await self._bury(keys=[self._nodes, self._departed], args=[node])

    async def listen(self, heard: Callable[[], None]) -> None:
        """`heard()` at each announcement of another node, for ever (subscribed again after
        a lost connection)."""
        mine = self.node.encode()

        def announced(data: object) -> None:
            if isinstance(data, bytes) and not data.endswith(mine):
                heard()

        await subscribe_forever(self.client, self.channel, announced, "shard leases: announcements")

    async def announce(self, kind: str) -> None:
        await self.client.publish(self.channel, f"{kind} {self.node}")

    async def agreed_count(self) -> int | None:
        """The count every node uses now (None: none agreed yet)."""
        found = await self.client.get(self.prefix + "shard_count")
        return None if found is None else int(_text(found))

    async def raise_shard_count(self, count: int) -> int:
        """The agreed count raised to `count` unless it is that high already (nodes that
        reshard at once agree on the largest); returns it."""
        return int(await self._raise(keys=[self.prefix + "shard_count"], args=[count]))

    async def shard_count(self, configured: int | None, recommended: int) -> int:
        """The count every node uses: SHARD_COUNT when set (written for the others), else the
        one already agreed in Redis, else /gateway/bot's recommendation (written first)."""
        key = self.prefix + "shard_count"
        if configured is not None:
            await self.client.set(key, configured)
            return configured
        await self.client.set(key, recommended, nx=True)
        return int(_text(await self.client.get(key) or recommended))
