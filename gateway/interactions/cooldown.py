"""The cooldown of component clicks: a second click on one message within the window."""

from __future__ import annotations

from collections import OrderedDict

from gateway.clock import Clock


class Cooldown:
    """Last forwarded click per message id, forgotten after `seconds` (bounded memory)."""

    def __init__(self, seconds: float, clock: Clock, max_entries: int = 50_000) -> None:
        self.seconds = seconds
        self._clock = clock
        self._max = max_entries
        self._last: OrderedDict[str, float] = OrderedDict()  # oldest first

    def hit(self, message_id: str) -> bool:
        """True when this message had a click within the window; else start a window."""
        now = self._clock()
        while self._last:  # drop expired entries (oldest first)
            oldest_id, oldest_at = next(iter(self._last.items()))
            if now - oldest_at < self.seconds and len(self._last) < self._max:
                break
            del self._last[oldest_id]
        last = self._last.get(message_id)
        if last is not None and now - last < self.seconds:
            return True
        self._last[message_id] = now
        self._last.move_to_end(message_id)
        return False

    def __len__(self) -> int:
        return len(self._last)
