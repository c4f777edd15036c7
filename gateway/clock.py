"""The injected time sources every part of `gateway/` takes (tests pass fake ones).

`Clocks` bundles them: a part takes one `clocks` argument (default `SYSTEM_CLOCKS`) instead of
a `clock`, a `wall_clock`, a `sleep` and an `rng` of its own; a test replaces only the fields
it is about, e.g. `Clocks(monotonic=fake.now, sleep=fake.sleep, random=lambda: 1.0)`.
"""

from __future__ import annotations

import asyncio
import random as _random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

Clock = Callable[[], float]  # seconds: time.monotonic, time.time, or a fake
Sleep = Callable[[float], Awaitable[None]]  # asyncio.sleep, or a fake that advances a Clock
Random = Callable[[], float]  # a float in [0, 1): random.random, or a fake


@dataclass(frozen=True, slots=True)
class Clocks:
    """The monotonic clock (deadlines, waits), the wall clock (timestamps shown or stored),
    the sleep that goes with the monotonic clock, and the randomness (jitter)."""

    monotonic: Clock = time.monotonic
    wall: Clock = time.time
    sleep: Sleep = asyncio.sleep
    random: Random = _random.random


SYSTEM_CLOCKS: Final = Clocks()
