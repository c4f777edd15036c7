"""Discord REST rate limits: route keys, per-route buckets, the global limit, invalid requests.

Everything takes an injected `clock` (monotonic seconds) and `sleep` so tests are exact.
Buckets of different routes never wait on each other; only requests of one bucket share a lock.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.clock import Clock, Sleep

#: Path segments whose following segment is a "major parameter" (kept in the bucket identity).
_MAJOR = frozenset({"channels", "guilds", "webhooks", "interactions"})


@dataclass(frozen=True, slots=True)
class Route:
    """A request's rate-limit identity.

    `template` is safe to log (ids and tokens replaced by placeholders); `major` holds the
    major-parameter values (may contain a webhook or interaction token: never log it).
    """

    method: str
    template: str
    major: str

    @property
    def token_route(self) -> bool:
        """Interaction callbacks and webhook-with-token routes: no bot auth, no global limit."""
        return self.template.startswith(("/interactions/", "/webhooks/{webhook_id}/{token}"))

    @property
    def callback(self) -> bool:
        """POST /interactions/{interaction_id}/{token}/callback: an acknowledgement."""
        return self.template == "/interactions/{interaction_id}/{token}/callback"

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


def route_for(method: str, path: str) -> Route:
    """Split "/channels/123/messages/456" into template + major params, as Discord buckets do."""
    path = path.split("?", 1)[0]
    parts = path.strip("/").split("/")
    template: list[str] = []
    major: list[str] = []
    i = 0
    while i < len(parts):
        seg = parts[i]
        template.append(seg)
        if seg in _MAJOR and i + 1 < len(parts):
            major.append(parts[i + 1])
            template.append("{webhook_id}" if seg == "webhooks" else "{" + seg[:-1] + "_id}")
            i += 2
            # webhooks/{id}/{token} and interactions/{id}/{token}: the token is major too
            if seg in ("webhooks", "interactions") and i < len(parts):
                major.append(parts[i])
                template.append("{token}")
                i += 1
            continue
        if seg.isdigit():
            template[-1] = "{id}"
        elif i > 0 and parts[i - 1] == "reactions":
            template[-1] = "{emoji}"
        i += 1
    return Route(method.upper(), "/" + "/".join(template), "/".join(major))


class Bucket:
    """One rate-limit bucket (a Discord bucket hash + major parameters)."""

    __slots__ = ("limit", "lock", "remaining", "reset_at", "users")

    def __init__(self) -> None:
        self.limit: int | None = None
        self.remaining: int | None = None  # None: unknown, let requests through
        self.reset_at = 0.0
        self.lock = asyncio.Lock()
        self.users = 0  # requests currently holding or waiting for this bucket


class BucketRegistry:
    """Maps routes to buckets (learning `X-RateLimit-Bucket` hashes) and paces each bucket."""

    def __init__(self, clock: Clock, sleep: Sleep, *, sweep_at: int = 512) -> None:
        self._clock = clock
        self._sleep = sleep
        self._hashes: dict[str, str] = {}  # route key -> bucket hash
        self._buckets: dict[str, Bucket] = {}
        self._sweep_at = sweep_at
        self._min_sweep = sweep_at
        self.waits = 0

    def _id(self, route: Route) -> str:
        return f"{self._hashes.get(route.key, route.key)}|{route.major}"

    def get(self, route: Route) -> Bucket:
        bucket_id = self._id(route)
        bucket = self._buckets.get(bucket_id)
        if bucket is None:
            if len(self._buckets) >= self._sweep_at:
                self._sweep()
            bucket = self._buckets[bucket_id] = Bucket()
        return bucket

    def __len__(self) -> int:
        return len(self._buckets)

    def _sweep(self) -> None:
        """Forget idle buckets whose window is over (per-interaction buckets pile up otherwise)."""
        now = self._clock()
        for bucket_id, bucket in list(self._buckets.items()):
            if bucket.users == 0 and bucket.reset_at <= now:
                del self._buckets[bucket_id]
        self._sweep_at = max(self._min_sweep, 2 * len(self._buckets))

    async def acquire(self, route: Route) -> Bucket:
        """Wait until the route's bucket has room, then take one request from it."""
        bucket = self.get(route)
        bucket.users += 1
        try:
            async with bucket.lock:
                while True:
                    now = self._clock()
                    if bucket.remaining is not None and bucket.remaining <= 0:
                        if now < bucket.reset_at:
                            self.waits += 1
                            await self._sleep(bucket.reset_at - now)
                            continue
                        bucket.remaining = bucket.limit  # the window is over
                    if bucket.remaining is not None:
                        bucket.remaining -= 1
                    return bucket
        finally:
            bucket.users -= 1

    def update(self, route: Route, headers: Mapping[str, str]) -> None:
        """Learn from a response's X-RateLimit-* headers."""
        bucket_hash = headers.get("x-ratelimit-bucket")
        if bucket_hash and self._hashes.get(route.key) != bucket_hash:
            old = self._buckets.get(self._id(route))
            self._hashes[route.key] = bucket_hash
            if old is not None:  # keep what the unhashed bucket knew
                self._buckets.setdefault(self._id(route), old)
        remaining = _int(headers.get("x-ratelimit-remaining"))
        reset_after = _float(headers.get("x-ratelimit-reset-after"))
        if remaining is None or reset_after is None:
            return
        bucket = self.get(route)
        limit = _int(headers.get("x-ratelimit-limit"))
        if limit is not None:
            bucket.limit = limit
        reset_at = self._clock() + reset_after
        if bucket.remaining is None or reset_at > bucket.reset_at + 0.001:
            bucket.remaining = remaining  # a new window (or the first we hear of)
        else:
            bucket.remaining = min(bucket.remaining, remaining)  # out-of-order answers
        bucket.reset_at = max(bucket.reset_at, reset_at)

    def delay(self, route: Route) -> float:
        """Seconds a request of `route` would wait for its bucket now (queue not counted)."""
        bucket = self._buckets.get(self._id(route))
        if bucket is None or bucket.remaining is None or bucket.remaining > 0:
            return 0.0
        return max(0.0, bucket.reset_at - self._clock())

    def headers(self, route: Route, wall_now: float) -> dict[str, str]:
        """Discord's X-RateLimit-* headers for the route's bucket, as far as they are known."""
        bucket = self._buckets.get(self._id(route))
        if bucket is None:
            return {}
        reset_after = max(0.0, bucket.reset_at - self._clock())
        out = {
            "X-RateLimit-Remaining": str(max(0, bucket.remaining or 0)),
            "X-RateLimit-Reset": f"{wall_now + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        }
        if bucket.limit is not None:
            out["X-RateLimit-Limit"] = str(bucket.limit)
        bucket_hash = self._hashes.get(route.key)
        if bucket_hash is not None:
            out["X-RateLimit-Bucket"] = bucket_hash
        return out

    def block(self, route: Route, retry_after: float) -> None:
        """A non-global 429: the route's bucket is empty for `retry_after` seconds."""
        bucket = self.get(route)
        bucket.remaining = 0
        bucket.reset_at = max(bucket.reset_at, self._clock() + retry_after)


class GlobalLimiter:
    """At most `limit` requests per `window` seconds (Discord: 50/s), plus global 429 pauses."""

    def __init__(self, clock: Clock, sleep: Sleep, limit: int = 50, window: float = 1.0) -> None:
        self._clock = clock
        self._sleep = sleep
        self.limit = limit
        self.window = window
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()
        self.paused_until = 0.0
        self.waits = 0

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self._clock() + seconds)

    def delay(self) -> float:
        """Seconds a request would wait for the global limit now (queue not counted)."""
        now = self._clock()
        wait = self.paused_until - now
        recent = [t for t in self._sent if t > now - self.window]
        if len(recent) >= self.limit:
            wait = max(wait, recent[-self.limit] + self.window - now)
        return max(0.0, wait)

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                if now < self.paused_until:
                    self.waits += 1
                    await self._sleep(self.paused_until - now)
                    continue
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                self.waits += 1
                await self._sleep(self._sent[0] + self.window - now)


class InvalidRequestCounter:
    """401/403/429 answers in the last 10 minutes (Discord bans the IP at 10,000)."""

    WINDOW = 600.0

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._seconds: deque[list[int]] = deque()  # [second, count], at most 600 entries
        self._total = 0

    def add(self) -> None:
        second = int(self._clock())
        self._expire(second)
        if self._seconds and self._seconds[-1][0] == second:
            self._seconds[-1][1] += 1
        else:
            self._seconds.append([second, 1])
        self._total += 1

    def count(self) -> int:
        self._expire(int(self._clock()))
        return self._total

    def seconds_until_below(self, limit: int) -> float:
        """Seconds until fewer than `limit` invalid requests are in the window."""
        now = self._clock()
        self._expire(int(now))
        total = self._total
        for second, count in self._seconds:
            if total < limit:
                break
            total -= count
            if total < limit:
                return max(0.0, second + self.WINDOW - now)
        return 0.0

    def _expire(self, second: int) -> None:
        while self._seconds and self._seconds[0][0] <= second - self.WINDOW:
            self._total -= self._seconds.popleft()[1]


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
