"""Discord's clock, estimated from the `Date` header of Discord's answers.

An interaction's age is Discord's time now minus its snowflake time; this machine's clock may
be off by seconds. A `Date` header is truncated to the second, so each answer says Discord's
time was in [date, date + 1): the offset is the mean of the last answers' midpoints, and taken
as 0 while it stays within that resolution (a synchronised local clock is more precise).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from email.utils import parsedate_to_datetime

#: Answers the estimate averages over.
SAMPLES = 16
#: Offsets within this many seconds are the header's resolution, not a skew.
RESOLUTION = 0.75


class DiscordClock:
    def __init__(self, wall_clock: Callable[[], float] = time.time) -> None:
        self._wall = wall_clock
        self._samples: deque[float] = deque(maxlen=SAMPLES)
        self.offset = 0.0  # Discord's time minus ours, seconds
        # the header changes once a second: the last one, parsed (observe() is on every answer)
        self._last: tuple[str, float] | None = None

    def observe(self, date_header: str | None, local_wall: float) -> None:
        """Take the `Date` header of an answer received at `local_wall` (our unix time)."""
        if not date_header:
            return
        last = self._last
        if last is not None and last[0] == date_header:
            discord_time = last[1]
        else:
            try:
                discord_time = parsedate_to_datetime(date_header).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                return
            self._last = (date_header, discord_time)
        self._samples.append(discord_time + 0.5 - local_wall)
        mean = sum(self._samples) / len(self._samples)
        self.offset = mean if abs(mean) > RESOLUTION else 0.0

    def now(self) -> float:
        """Discord's unix time, estimated."""
        return self._wall() + self.offset
