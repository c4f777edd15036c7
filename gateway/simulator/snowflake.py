"""Discord-shaped ids: milliseconds since the Discord epoch << 22 plus a counter."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from gateway.interactions.model import DISCORD_EPOCH_MS


class Snowflakes:
    def __init__(self, wall_clock: Callable[[], float]) -> None:
        self._wall_clock = wall_clock
        self._counter = itertools.count()

    def next(self) -> str:
        ms = max(0, int(self._wall_clock() * 1000) - DISCORD_EPOCH_MS)
        return str((ms << 22) | (next(self._counter) & 0x3FFFFF))
