"""Discord-shaped ids: milliseconds since the Discord epoch << 22 plus a counter."""

from __future__ import annotations

import itertools
from collections.abc import Callable

#: 2015-01-01T00:00:00Z, Discord's epoch. The simulator keeps its own copy: it is the other
#: side of the wire and imports nothing from the client it tests.
DISCORD_EPOCH_MS = 1420070400000


def snowflake_time(snowflake: str | int) -> float:
    """Unix seconds at which the id was made."""
    return ((int(snowflake) >> 22) + DISCORD_EPOCH_MS) / 1000.0


class Snowflakes:
    def __init__(self, wall_clock: Callable[[], float]) -> None:
        self._wall_clock = wall_clock
        self._counter = itertools.count()

    def next(self) -> str:
        ms = max(0, int(self._wall_clock() * 1000) - DISCORD_EPOCH_MS)
        return str((ms << 22) | (next(self._counter) & 0x3FFFFF))
