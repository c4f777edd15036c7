"""Gateway sessions: sequence numbers, the dispatch history a RESUME replays, the live socket."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.simulator.connection import SimConnection

# Dispatches that belong to the connection that received them and are never replayed.
NOT_REPLAYED = frozenset({"READY", "RESUMED"})


@dataclass(slots=True)
class Dispatch:
    seq: int
    name: str
    data: Any


@dataclass(eq=False)
class Session:
    """One IDENTIFY's session. `history` holds every dispatch in order, so a RESUME from any
    earlier seq gets exactly what it missed; while no connection is attached dispatches only
    land in the history (Discord buffers them until the resume)."""

    session_id: str
    shard: tuple[int, int]
    identify: dict[str, Any]
    seq: int = 0
    history: list[Dispatch] = field(default_factory=list)
    resumable: bool = True
    connection: SimConnection | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def shard_id(self) -> int:
        return self.shard[0]

    def next_dispatch(self, name: str, data: Any) -> Dispatch:
        self.seq += 1
        item = Dispatch(self.seq, name, data)
        self.history.append(item)
        return item

    def ready(self, data: Any, *, from_zero: bool = False) -> Dispatch:
        """READY: s=1 as Discord numbers it, or s=0 (Spacebar) with the next dispatch at 1."""
        if not from_zero:
            return self.next_dispatch("READY", data)
        item = Dispatch(self.seq, "READY", data)
        self.history.append(item)
        return item

    def missed_since(self, seq: int) -> list[Dispatch]:
        return [d for d in self.history if d.seq > seq and d.name not in NOT_REPLAYED]

    def invalidate(self) -> None:
        self.resumable = False
        self.history.clear()
