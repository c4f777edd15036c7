"""rate_limit(): a token bucket per client key, bounded memory, injectable clocks.

`clocks` is anything with a `monotonic` clock: `gateway.clock.Clocks` in the app and the tests
(this framework imports nothing of `gateway/`, so `Clocks` here is only its shape).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from asgi_app.http.errors import HTTPError
from asgi_app.http.request import Request
from asgi_app.http.response import Response
from asgi_app.http.types import Middleware, Next


class Clocks(Protocol):
    """What rate_limit takes of `gateway.clock.Clocks`: its monotonic clock (seconds)."""

    @property
    def monotonic(self) -> Callable[[], float]: ...


@dataclass(frozen=True, slots=True)
class _SystemClocks:
    monotonic: Callable[[], float] = time.monotonic


SYSTEM_CLOCKS: Final[Clocks] = _SystemClocks()


def client_address(req: Request) -> str:
    return req.client


class TokenBuckets:
    """`capacity` requests, refilled continuously at `capacity` per `period` seconds.
    At most `max_keys` buckets are kept; the least recently seen key is evicted first."""

    def __init__(
        self,
        capacity: int,
        period: float = 60.0,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1 or period <= 0 or max_keys < 1:
            raise ValueError("capacity and max_keys must be >= 1, period > 0")
        self.capacity = float(capacity)
        self.rate = capacity / period
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> tuple[bool, float, float]:
        """Spend one token for `key`: (allowed, tokens left, seconds until one is back)."""
        now = self.clock()
        buckets = self._buckets
        state = buckets.get(key)
        if state is None:
            tokens = self.capacity
            if len(buckets) >= self.max_keys:
                buckets.popitem(last=False)
        else:
            tokens = min(self.capacity, state[0] + (now - state[1]) * self.rate)
            buckets.move_to_end(key)
        if tokens >= 1.0:
            buckets[key] = (tokens - 1.0, now)
            return True, tokens - 1.0, 0.0
        buckets[key] = (tokens, now)
        return False, tokens, (1.0 - tokens) / self.rate


def rate_limit(
    per_minute: int,
    *,
    key: Callable[[Request], str] = client_address,
    max_keys: int = 10_000,
    clocks: Clocks = SYSTEM_CLOCKS,
) -> Middleware:
    """429 with Retry-After (whole seconds) once a key spends `per_minute` in a minute (by
    `clocks.monotonic`)."""
    buckets = TokenBuckets(per_minute, 60.0, max_keys=max_keys, clock=clocks.monotonic)
    limit = str(per_minute)

    async def limit_rate(req: Request, res: Response, next: Next) -> None:
        allowed, left, wait = buckets.take(key(req))
        if not allowed:
            raise HTTPError(
                429,
                "Too many requests; retry later",
                headers={"Retry-After": str(max(1, math.ceil(wait))), "RateLimit-Limit": limit},
            )
        res.headers["ratelimit-limit"] = limit
        res.headers["ratelimit-remaining"] = str(int(left))
        await next()

    limit_rate.buckets = buckets  # type: ignore[attr-defined]
    return limit_rate
