"""Reconnect backoff: exponential, full jitter, capped, with a 1 s floor after the first tries."""

from __future__ import annotations

import random
from collections.abc import Callable

from gateway.connection.protocol import BACKOFF_BASE, BACKOFF_CAP, BACKOFF_FAST_ATTEMPTS


class Backoff:
    """`next_delay()` for attempt n (1, 2, ...) is `rng() * min(cap, base * 2**(n-1))`.

    From attempt `fast_attempts + 1` on the delay is at least `floor`, so a flapping peer never
    gets more than one attempt per `floor` seconds. `reset()` after a stable connection.
    """

    def __init__(
        self,
        *,
        base: float = BACKOFF_BASE,
        cap: float = BACKOFF_CAP,
        floor: float = 1.0,
        fast_attempts: int = BACKOFF_FAST_ATTEMPTS,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.base = base
        self.cap = cap
        self.floor = min(floor, cap)
        self.fast_attempts = fast_attempts
        self._rng = rng
        self.attempt = 0

    def ceiling(self, attempt: int) -> float:
        # 2**60 is far past any cap; avoid float overflow for huge attempt counts.
        return min(self.cap, self.base * 2.0 ** min(attempt - 1, 60))

    def next_delay(self) -> float:
        self.attempt += 1
        delay = self._rng() * self.ceiling(self.attempt)
        if self.attempt > self.fast_attempts:
            delay = max(delay, self.floor)
        return delay

    def reset(self) -> None:
        self.attempt = 0

    def reached_ready(self, stable: bool) -> None:
        """The last connection got to READY/RESUMED: the path to Discord works.

        Stable (up `stable_after`): start over. Not stable (a fault soon after READY): keep
        only the fast attempts' worth of escalation, so repeated short-lived faults cost a
        few seconds each (the floor still bounds a flapping peer to one attempt a second)
        instead of climbing to the cap while every reconnect succeeds.
        """
        self.attempt = 0 if stable else min(self.attempt, self.fast_attempts)
