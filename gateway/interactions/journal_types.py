"""What the relay tells the interaction journal (CONTRACT step 5). The implementations
(SqliteJournal, RedisJournal, MemoryJournal) live in journal*.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class JournalEntry:
    interaction_id: str
    created_at: float  # unix s (snowflake)
    raw: bytes  # the interaction object as received (re-forwarded byte for byte)
    mode: str  # "deferred" | "deferred-ephemeral" | "respond"
    first_response: int | None  # the callback type sent (5, 6, 4, 7, 9...) or None


class Journal(Protocol):
    async def claim(self, interaction_id: str, created_at: float) -> bool:
        """True the first time this id is claimed (within 15 minutes), else False."""
        ...

    async def record(self, entry: JournalEntry) -> None: ...

    async def finish(self, interaction_id: str) -> None: ...

    async def pending(self) -> list[JournalEntry]:
        """Unfinished entries, oldest first."""
        ...

    async def drop(self, interaction_id: str) -> None: ...

    async def aclose(self) -> None: ...
