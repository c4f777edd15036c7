"""The dead letters (CONTRACT "Dead letters"): events the main app refused (a 4xx other than
408/429) or that were retried for EVENTS_RETRY_HOURS.

They live in the store's dead letters (gateway/journal/events.py), every node's in one place
with Redis, so GET /events/dead, POST /events/dead/replay and DELETE /events/dead act on the
same letters whichever node answers; each first waits until the journal has written what came
before it. `kept` is this node's view of them (the last read, and what it made since): the
count of /health and /metrics, and the bound (EVENTS_MAX_PENDING: past it the oldest go).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.delivery.sender import Report
from gateway.events.lanes import Lanes
from gateway.events.model import Event
from gateway.events.stats import EventStats
from gateway.journal.events import Change, EventStore, Row
from gateway.journal.group_commit import GroupCommit

#: How long a dead-letter request waits for the journal to write what came before it (s).
SETTLE_WAIT = 5.0


def decoded(rows: Iterable[Row]) -> list[Event]:
    """Rows of the store as events, in arrival order."""
    return sorted((Event.from_row(event_id, row) for event_id, row in rows), key=lambda e: e.n)


class DeadLetters:
    def __init__(
        self,
        store: EventStore,
        journal: GroupCommit[Change[Event]],
        lanes: Lanes,
        stats: EventStats,
        *,
        max_kept: int,
        clocks: Clocks = SYSTEM_CLOCKS,
    ) -> None:
        self.store = store
        self.journal = journal
        self.lanes = lanes
        self.stats = stats
        self.max_kept = max_kept
        self._wall = clocks.wall
        self.kept: dict[str, Event] = {}

    def known(self, events: Iterable[Event]) -> None:
        """Dead letters read from the store (at start)."""
        self.kept.update((e.id, e) for e in events)

    def restore(self, events: list[Event]) -> None:
        """Dead ones found among this node's pending (a replay cut short, a store of an
        earlier version): back to the dead letters."""
        if events:
            self.known(events)
            self.journal.submit(Change(put=events))

    def died(self, batch: list[Event], report: Report, shards: dict[str, int]) -> None:
        """A batch the sender gave up on: each event a dead letter (`shards`: where those
        that came on a shard were pending)."""
        for event in batch:
            self.stats.count(self.stats.dead, event.type)
            event.dead = True
            event.attempts = report.attempts
            event.status = report.status
            event.problem = report.problem
            event.first_attempt = int(report.first_at * 1000)
            event.last_attempt = int(report.last_at * 1000)
            self.kept[event.id] = event
        self.journal.submit(Change(put=list(batch), shards=shards))
        self._bound()

    def _bound(self) -> None:
        """Dead letters are kept up to EVENTS_MAX_PENDING too: past it, the oldest go."""
        over = len(self.kept) - self.max_kept
        if over <= 0:
            return
        oldest = sorted(self.kept.values(), key=lambda e: e.n)[:over]
        for event in oldest:
            del self.kept[event.id]
            self.stats.count(self.stats.dropped, event.type)
        self.journal.submit(Change(remove=[e.id for e in oldest]))

    async def _settled(self) -> None:
        """What came before is written (a dead letter made here, a forget); TimeoutError
        while the journal cannot write."""
        await asyncio.wait_for(self.journal.flush(), SETTLE_WAIT)

    async def listed(self) -> list[dict[str, Any]]:
        """Every node's dead letters, in arrival order (GET /events/dead)."""
        await self._settled()
        events = decoded(await self.store.dead())
        self.kept.clear()
        self.known(events)
        return [e.dead_view() for e in events]

    async def replay(self, ids: list[str] | None = None) -> int:
        """Queue dead letters again on this node (all of them with None), in arrival order."""
        await self._settled()
        events = decoded(await self.store.take_dead(ids))
        for event in events:
            self.kept.pop(event.id, None)
            event.dead = False
            event.attempts, event.status, event.problem = 0, None, None
            event.first_attempt = event.last_attempt = None
            event.received_at = int(self._wall() * 1000)  # a new retry clock
        if events:
            self.journal.submit(Change(put=list(events)))
            self.lanes.push(events)
        return len(events)

    async def forget(self, ids: list[str] | None = None) -> int:
        await self._settled()
        forgotten = await self.store.forget_dead(ids)
        for event_id in list(self.kept) if ids is None else ids:
            self.kept.pop(event_id, None)
        return forgotten
