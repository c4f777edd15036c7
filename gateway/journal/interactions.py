"""The interaction journal: what was acknowledged and is not finished yet, and the ids handled.

CONTRACT.md step 5 "Nothing acknowledged is lost": an interaction enters (`record`) once its
first response succeeded (in `respond` mode: once forwarded) and leaves (`finish`) when it is
finished (the main app's 2xx, its answer delivered, or the user told). After a crash the next
start forwards what is left again (`interactions_replay.py`). `claim` keeps the ids already
handled for HANDLED_TTL, so a dispatch replayed by a RESUME after a restart is not
acknowledged a second time.

Here: `JournalEntry`, the `Journal` interface and `MemoryJournal` (no state: tests, and a
server with neither STATE_DIR nor REDIS_URL). The others: `SqliteJournal`
(`interactions_sqlite.py`, STATE_DIR), `RedisJournal` (`interactions_redis.py`, REDIS_URL);
`interactions_replay.open_journal` picks one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.journal.seen import SeenIds

#: The life of an interaction token (Discord: 15 minutes): an entry older than that cannot be
#: finished (no follow-up, no edit), and a dispatch of that id cannot come back.
TOKEN_LIFETIME = 15 * 60.0
HANDLED_TTL = TOKEN_LIFETIME
#: Most handled ids kept in memory (the oldest forgotten first).
MAX_REMEMBERED = 200_000


@dataclass(frozen=True, slots=True)
class JournalEntry:
    interaction_id: str
    created_at: float  # unix s (snowflake)
    raw: bytes  # the interaction object as received (re-forwarded byte for byte)
    mode: str  # "deferred" | "deferred-ephemeral" | "respond"
    first_response: int | None  # the callback type sent (5, 6, 4, 7, 9...) or None


class Journal(Protocol):
    """What the relay tells the journal (claim, record, finish), and what a start or a node's
    death reads back (pending, adopt)."""

    async def claim(self, interaction_id: str, created_at: float) -> bool:
        """True the first time this id is claimed (within 15 minutes), else False. Never
        waits for I/O."""
        ...

    async def record(self, entry: JournalEntry) -> None:
        """Durable when it returns."""
        ...

    async def finish(self, interaction_id: str) -> None: ...

    async def pending(self) -> list[JournalEntry]:
        """This process's unfinished entries, oldest first."""
        ...

    async def adopt(self, group: str) -> list[JournalEntry]:
        """Another process's unfinished entries (a dead node's), moved to this one's, oldest
        first; [] for a store no other process shares."""
        ...

    async def drop(self, interaction_id: str) -> None: ...

    async def aclose(self) -> None: ...


class MemoryJournal:
    """The journal without state: handled ids and entries live as long as the process."""

    def __init__(self, *, limit: int = MAX_REMEMBERED, clocks: Clocks = SYSTEM_CLOCKS) -> None:
        self._seen = SeenIds(HANDLED_TTL, limit)
        self._pending: dict[str, JournalEntry] = {}
        self._limit = limit
        self._clock = clocks.wall

    def __repr__(self) -> str:
        return "MemoryJournal()"

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

    async def adopt(self, group: str) -> list[JournalEntry]:
        return []

    async def drop(self, interaction_id: str) -> None:
        self._pending.pop(interaction_id, None)

    async def aclose(self) -> None:
        pass
