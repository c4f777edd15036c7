"""Ids seen lately, in bounded memory: the interactions handled (admission and the interaction
journal: 15 minutes) and Discord's Webhook Events (the events: 24 hours). Their durable part
is in the stores beside this module (`handled` of interactions_*.py, `webhooks` of
events_*.py), loaded into a `SeenIds` at start."""

from __future__ import annotations

from collections import OrderedDict


class SeenIds:
    """Ids seen in the last `ttl` seconds (by the time each was given with), at most
    `max_entries` (the oldest forgotten first)."""

    def __init__(self, ttl: float, max_entries: int) -> None:
        self.ttl = ttl
        self._max = max_entries
        self._ids: OrderedDict[str, float] = OrderedDict()  # id -> its time, oldest first

    def add(self, key: str, at: float, now: float) -> bool:
        """Remember the id; False when it was already remembered."""
        ids = self._ids
        while ids:
            oldest_id, oldest_at = next(iter(ids.items()))
            if now - oldest_at < self.ttl and len(ids) < self._max:
                break
            del ids[oldest_id]
        if key in ids:
            return False
        ids[key] = at
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def __len__(self) -> int:
        return len(self._ids)
