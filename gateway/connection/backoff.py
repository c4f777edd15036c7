"""Reconnect backoff: `gateway/backoff.py`'s formula with full jitter, and a 1 s floor after the
first tries."""

from __future__ import annotations

from gateway.backoff import Jitter, backoff_delay
from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.connection.protocol import BACKOFF_BASE, BACKOFF_CAP, BACKOFF_FAST_ATTEMPTS
from gateway.connection.timings import ShardTimings


class Backoff:
    """`next_delay()` for attempt n (1, 2, ...) is `backoff_delay(n, base, cap, Jitter.FULL)`:
    `random() * min(cap, base * 2**(n-1))`.

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
        clocks: Clocks = SYSTEM_CLOCKS,
    ) -> None:
        self.base = base
        self.cap = cap
        self.floor = min(floor, cap)
        self.fast_attempts = fast_attempts
        self._random = clocks.random
        self.attempt = 0

    @classmethod
    def of(cls, timings: ShardTimings, clocks: Clocks = SYSTEM_CLOCKS) -> Backoff:
        """The backoff `timings` set (base, cap, floor, fast attempts)."""
        t = timings
        floor, fast = t.backoff_floor, t.backoff_fast_attempts
        return cls(
            base=t.backoff_base, cap=t.backoff_cap, floor=floor, fast_attempts=fast, clocks=clocks
        )

    def next_delay(self) -> float:
        self.attempt += 1
        delay = backoff_delay(self.attempt, self.base, self.cap, Jitter.FULL, self._random)
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
