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

from gateway.interactions.admission import MAX_REMEMBERED, TOKEN_LIFETIME, SeenIds
from gateway.interactions.journal_types import Journal, JournalEntry

#: Discord's interaction tokens live 15 minutes: an entry older than that cannot be finished
#: (no follow-up, no edit), and a dispatch of that id cannot come back.
HANDLED_TTL = TOKEN_LIFETIME

__all__ = ["HANDLED_TTL", "Journal", "JournalEntry", "MemoryJournal"]


class MemoryJournal:
    """The journal without state: handled ids and entries live as long as the process."""

    def __init__(
        self, *, limit: int = MAX_REMEMBERED, clock: Callable[[], float] = time.time
    ) -> None:
        self._seen = SeenIds(HANDLED_TTL, limit)  # admission's bounded 15-minute set
        self._pending: dict[str, JournalEntry] = {}
        self._limit = limit
        self._clock = clock

    async def claim(self, interaction_id: str, created_at: float) -> bool:
        return self._seen.add(interaction_id, created_at, self._clock())

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
