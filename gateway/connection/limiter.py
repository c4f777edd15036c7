"""Send limiter (per connection) and identify throttle (shared by a manager's shards).

`IdentifyGate` is what a shard needs of an identify throttle: this process-local one, or the
Redis lock shared by every process (redis_store.py).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.connection.protocol import (
    IDENTIFY_INTERVAL,
    IDENTIFY_MARGIN,
    SEND_LIMIT,
    SEND_LIMIT_ORDINARY,
    SEND_WINDOW,
)


class IdentifyGate(Protocol):
    async def acquire(self, shard_id: int) -> float:
        """Wait for this shard's bucket (shard_id % max_concurrency); returns the wait."""
        ...

    async def sent(self, shard_id: int) -> None:
        """The IDENTIFY went out: the bucket's interval counts from now."""
        ...


class SendLimiter:
    """Sliding window of send times for ONE connection: a new connection gets a new limiter.

    Ordinary sends wait while `ordinary` sends happened in the last `window` seconds; priority
    sends (heartbeat, identify, resume) never wait but are counted, and `limit - ordinary` slots
    stay free for them.
    """

    def __init__(
        self,
        *,
        limit: int = SEND_LIMIT,
        ordinary: int = SEND_LIMIT_ORDINARY,
        window: float = SEND_WINDOW,
        clocks: Clocks = SYSTEM_CLOCKS,
    ) -> None:
        if not 0 < ordinary <= limit:
            raise ValueError("need 0 < ordinary <= limit")
        self.limit = limit
        self.ordinary = ordinary
        self.window = window
        self._clock = clocks.monotonic
        self._sleep = clocks.sleep
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()

    def _expire(self, now: float) -> None:
        horizon = now - self.window
        sent = self._sent
        while sent and sent[0] <= horizon:
            sent.popleft()

    @property
    def used(self) -> int:
        self._expire(self._clock())
        return len(self._sent)

    def record_priority(self) -> None:
        """Count a heartbeat / identify / resume; it never waits."""
        now = self._clock()
        self._expire(now)
        self._sent.append(now)

    async def acquire(self) -> None:
        """Wait (FIFO) until an ordinary send fits in the window, then count it."""
        async with self._lock:
            while True:
                now = self._clock()
                self._expire(now)
                if len(self._sent) < self.ordinary:
                    self._sent.append(now)
                    return
                # Wait for the oldest entry that must leave before we fit.
                oldest = self._sent[len(self._sent) - self.ordinary]
                await self._sleep(max(oldest + self.window - now, 0.001))


class IdentifyThrottle:
    """One IDENTIFY per `interval` seconds per bucket `shard_id % max_concurrency`, counted
    from the moment the previous one was sent, plus `margin` (none when interval is 0)."""

    def __init__(
        self,
        max_concurrency: int = 1,
        *,
        interval: float = IDENTIFY_INTERVAL,
        margin: float = IDENTIFY_MARGIN,
        clocks: Clocks = SYSTEM_CLOCKS,
    ) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self.interval = interval
        self.margin = margin if interval > 0 else 0.0
        self._clock = clocks.monotonic
        self._sleep = clocks.sleep
        self._next: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def bucket(self, shard_id: int) -> int:
        return shard_id % self.max_concurrency

    async def acquire(self, shard_id: int) -> float:
        """Wait for this shard's bucket; returns how long it waited."""
        key = self.bucket(shard_id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            waited = 0.0
            while (delay := self._next.get(key, float("-inf")) - self._clock()) > 0:
                await self._sleep(delay)
                waited += delay
            self._next[key] = self._clock() + self.interval
            return waited

    async def sent(self, shard_id: int) -> None:
        key = self.bucket(shard_id)
        after = self._clock() + self.interval + self.margin
        self._next[key] = max(self._next.get(key, float("-inf")), after)
