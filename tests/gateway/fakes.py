"""Injected time for exact tests: a clock that only moves when someone sleeps."""

from __future__ import annotations

import asyncio

from gateway.clock import Clocks


class FakeTime:
    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    @property
    def clocks(self) -> Clocks:
        """This clock and its sleep, for a part that takes `clocks`."""
        return Clocks(monotonic=self.clock, sleep=self.sleep)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)
