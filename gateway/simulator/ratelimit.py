"""Discord-style REST rate limits: per-route buckets (split by major parameter) and the global
limit, producing the real headers (X-RateLimit-*) and 429 bodies."""

from __future__ import annotations

import hashlib
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class Limit:
    limit: int
    window: float  # seconds


@dataclass(slots=True)
class _Window:
    reset_at: float
    count: int = 0


@dataclass(slots=True)
class BucketState:
    """The outcome of counting one request in its bucket."""

    bucket: str
    limit: int
    remaining: int
    reset_after: float
    allowed: bool

    def headers(self, wall_now: float) -> list[tuple[str, str]]:
        return [
            ("X-RateLimit-Limit", str(self.limit)),
            ("X-RateLimit-Remaining", str(self.remaining)),
            ("X-RateLimit-Reset", f"{wall_now + self.reset_after:.3f}"),
            ("X-RateLimit-Reset-After", f"{self.reset_after:.3f}"),
            ("X-RateLimit-Bucket", self.bucket),
        ]


def bucket_hash(route: str) -> str:
    return hashlib.sha1(route.encode(), usedforsecurity=False).hexdigest()[:16]


class Buckets:
    """Fixed windows that start with a bucket's first request, one per (route, major param)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}

    def hit(self, route: str, major: str, limit: Limit) -> BucketState:
        now = self._clock()
        key = (route, major)
        window = self._windows.get(key)
        if window is None or now >= window.reset_at:
            window = self._windows[key] = _Window(reset_at=now + limit.window)
        allowed = window.count < limit.limit
        if allowed:
            window.count += 1
        return BucketState(
            bucket=bucket_hash(route),
            limit=limit.limit,
            remaining=max(0, limit.limit - window.count),
            reset_after=max(0.0, window.reset_at - now),
            allowed=allowed,
        )

    def reset(self) -> None:
        self._windows.clear()


@dataclass
class GlobalLimit:
    """Requests per `window` seconds across all bot-authenticated routes; every request that
    arrives while `limit` others are still inside the window is a recorded violation."""

    clock: Callable[[], float]
    limit: int = 50
    window: float = 1.0
    violations: list[float] = field(default_factory=list)
    peak: int = 0
    _times: deque[float] = field(default_factory=deque)

    def hit(self, *, count_rejected: bool = False) -> float | None:
        """Count a request; None when allowed, else the retry_after in seconds."""
        now = self.clock()
        while self._times and now - self._times[0] >= self.window:
            self._times.popleft()
        if len(self._times) >= self.limit:
            self.violations.append(now)
            retry = self.window - (now - self._times[0])
            if count_rejected:
                self._times.append(now)
            return max(retry, 0.001)
        self._times.append(now)
        self.peak = max(self.peak, len(self._times))
        return None


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
