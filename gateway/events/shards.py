"""Which shard each pending gateway event came on, and which shards this node holds.

With Redis a gateway event is kept with its shard (gateway/journal/events_redis.py) and
delivered by the node holding that shard's lease: the node that takes a shard reads what is
pending there before it resumes it (`EventService.take_shard`), and the node that gives one up
stops delivering its events (`elsewhere`: left in the store for the new holder). Without
leases every shard is this node's (`held` None).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gateway.events.model import Event


class ShardEvents:
    def __init__(self, held: Iterable[int] | None = None) -> None:
        self.held: set[int] | None = None if held is None else set(held)
        self.of: dict[str, int] = {}  # pending gateway event id -> its shard

    def came(self, event_id: str, shard: int) -> None:
        self.of[event_id] = shard

    def unknown(self, events: Iterable[Event], shards: Mapping[str, int]) -> list[Event]:
        """Events read from the store that are not pending here yet (their shards noted)."""
        fresh = [e for e in events if e.id not in self.of]
        for event in fresh:
            if event.id in shards:
                self.of[event.id] = shards[event.id]
        return fresh

    def where(self, ids: Iterable[str]) -> dict[str, int]:
        """The shards of these events (for the store: where each is kept)."""
        return {i: self.of[i] for i in ids if i in self.of}

    def done(self, ids: Iterable[str]) -> dict[str, int]:
        """`where`, and the events forgotten here (delivered, dead, dropped)."""
        found = self.where(ids)
        for event_id in found:
            del self.of[event_id]
        return found

    def elsewhere(self, batch: list[Event]) -> list[Event]:
        """The events of `batch` whose shard another node holds now (forgotten here)."""
        held = self.held
        if held is None:
            return []
        gone = [e for e in batch if e.id in self.of and self.of[e.id] not in held]
        self.done(e.id for e in gone)
        return gone

    def take(self, shard: int) -> None:
        if self.held is not None:
            self.held.add(shard)

    def give(self, shard: int) -> None:
        if self.held is not None:
            self.held.discard(shard)
