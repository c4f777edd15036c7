"""The interaction journal: what was acknowledged and is not finished yet, and the ids handled.

CONTRACT.md step 5 "Nothing acknowledged is lost": an interaction enters (`record`) once its
first response succeeded (in `respond` mode: once forwarded) and leaves (`finish`) when it is
finished (the main app's 2xx, its answer delivered, or the user told). After a crash the next
start forwards what is left again (`journal_replay.py`). `claim` keeps the ids
already handled for HANDLED_TTL, so a dispatch replayed by a RESUME after a restart is not
acknowledged a second time.

The types (`JournalEntry`, the `Journal` protocol) are in `journal_types.py`. Stores:
`MemoryJournal` (no state, tests), `SqliteJournal` (`journal_sqlite.py`, STATE_DIR),
`RedisJournal` (`journal_redis.py`, REDIS_URL); `journal_replay.open_journal` picks one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway.interactions.journal_types import Journal, JournalEntry

#: Discord's interaction tokens live 15 minutes: an entry older than that cannot be finished
#: (no follow-up, no edit), and a dispatch of that id cannot come back.
HANDLED_TTL = 15 * 60.0
#: Ids kept at most by the in-memory set (15 minutes at 200 interactions per second).
MAX_HANDLED = 180_000

__all__ = ["HANDLED_TTL", "HandledIds", "Journal", "JournalEntry", "MemoryJournal"]


class HandledIds:
    """Ids with an expiry (created_at + HANDLED_TTL), bounded to `limit` (oldest out first)."""

    def __init__(self, *, limit: int = MAX_HANDLED, clock: Callable[[], float] = time.time) -> None:
        self._expires: dict[str, float] = {}
        self._limit = limit
        self._clock = clock

    def __len__(self) -> int:
        return len(self._expires)

    def __contains__(self, interaction_id: object) -> bool:
        expires = self._expires.get(interaction_id)  # type: ignore[call-overload]
        return expires is not None and expires > self._clock()

    def add(self, interaction_id: str, created_at: float) -> bool:
        """Remember an id; False when it was already there (and not expired)."""
        if interaction_id in self:
            return False
        self._prune()
        self._expires[interaction_id] = created_at + HANDLED_TTL
        return True

    def load(self, interaction_id: str, expires_at: float) -> None:
        self._expires[interaction_id] = expires_at

    def _prune(self) -> None:
        # Insertion order is arrival order, close to expiry order: expired ids leave from the
        # front, and the oldest leave when the set is full.
        now = self._clock()
        expires = self._expires
        while expires:
            oldest = next(iter(expires))
            if expires[oldest] > now and len(expires) < self._limit:
                break
            del expires[oldest]


class MemoryJournal:
    """The journal without state: handled ids and entries live as long as the process."""

    def __init__(self, *, limit: int = MAX_HANDLED, clock: Callable[[], float] = time.time) -> None:
        self._handled = HandledIds(limit=limit, clock=clock)
        self._pending: dict[str, JournalEntry] = {}
        self._limit = limit

    async def claim(self, interaction_id: str, created_at: float) -> bool:
        return self._handled.add(interaction_id, created_at)

    async def record(self, entry: JournalEntry) -> None:
        if len(self._pending) >= self._limit:
            self._pending.pop(next(iter(self._pending)))
        self._pending[entry.interaction_id] = entry

    async def finish(self, interaction_id: str) -> None:
        self._pending.pop(interaction_id, None)

    async def pending(self) -> list[JournalEntry]:
        return sorted(self._pending.values(), key=lambda e: e.created_at)

    async def drop(self, interaction_id: str) -> None:
        self._pending.pop(interaction_id, None)

    async def aclose(self) -> None:
        pass
