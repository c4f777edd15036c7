"""Several nodes on one Redis (REDIS_URL): one runner fires, every node sees every timer.

- Firing: only the node that holds the timers' role lease (`role:timers`, taken and renewed
  by the app, gateway/connection/lease.py) runs `tick`; `TimerService.set_active` is told when
  it gains or loses the role (on gaining it, the store is read again: every timer, and the
  outbox sent again, same delivery ids). So two nodes never deliver one fire twice; a node
  that froze past its role lease finds `active()` false on waking, before its next tick.
- Seeing: every change a node writes (`SyncedStore.write`: create, pause, extend, a fire, a
  reminder, a forget) is announced on `{prefix}changes` with the timer ids; every other node
  reads those records back from the store and applies them to its engine (`adopt`, `drop`),
  so a timer created on one node is scheduled by the runner on another within milliseconds,
  and GET /timers answers the same everywhere. A change whose announcement is lost is still
  read whole when a node gains the role.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import orjson

from gateway.journal.timers import Change, Contents, TimerStore
from gateway.journal.timers_redis import DEFAULT_PREFIX
from gateway.redis_client import redis_client, subscribe_forever
from gateway.timers.engine import TimerEngine
from gateway.timers.model import Timer

log = logging.getLogger("gateway.timers")


class SyncedStore:
    """A TimerStore whose writes are announced to the other nodes once durable."""

    def __init__(self, inner: TimerStore, sync: TimerSync) -> None:
        self.inner = inner
        self._sync = sync

    async def load(self) -> Contents:
        return await self.inner.load()

    async def write(self, change: Change) -> None:
        await self.inner.write(change)
        ids = [t.id for t in change.timers]
        if ids or change.forget:
            await self._sync.announce(ids, list(change.forget))

    async def aclose(self) -> None:
        await self._sync.close()
        await self.inner.aclose()


class TimerSync:
    def __init__(self, url: str, node: str, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis_client(url)
        self._node = node
        self._channel = prefix + "changes"
        self._timers = prefix + "timers"
        self._engine: TimerEngine | None = None
        self._task: asyncio.Task[None] | None = None
        self.applied = 0

    def wrap(self, store: TimerStore) -> SyncedStore:
        return SyncedStore(store, self)

    def start(self, engine: TimerEngine) -> None:
        self._engine = engine
        self._task = asyncio.get_running_loop().create_task(self._listen(), name="timers-sync")

    async def announce(self, ids: Sequence[str], forget: Sequence[str]) -> None:
        message = orjson.dumps({"node": self._node, "timers": ids, "forget": forget})
        try:
            await self._redis.publish(self._channel, message)
        except Exception as exc:  # the others read it whole when one of them gains the role
            log.warning("timers: change not announced (%s)", exc.__class__.__name__)

    async def _listen(self) -> None:
        await subscribe_forever(
            self._redis, self._channel, self._apply, "timers: changes of other nodes"
        )

    async def _apply(self, data: object) -> None:
        engine = self._engine
        if not isinstance(data, bytes) or engine is None:
            return
        change = orjson.loads(data)
        if change.get("node") == self._node:
            return
        ids = [str(i) for i in change.get("timers", [])]
        if ids:
            raws = await self._redis.hmget(self._timers, ids)
            for raw in raws:
                if isinstance(raw, bytes):
                    engine.adopt(Timer.from_json(raw))
                    self.applied += 1
        for timer_id in change.get("forget", []):
            engine.drop(str(timer_id))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._redis.aclose()
