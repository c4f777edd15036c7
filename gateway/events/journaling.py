"""What the events room writes to its journal (gateway/journal/events.py, behind the group
commit): one open change gathers the events that come until its transaction starts (with
their marks, shards and webhook ids, which the caller adds); an event delivered or dropped
before then is withdrawn from it, never written and never removed (its mark is written all
the same); the others are removed by a change of their own once delivered or dropped.

Why: the main app usually answers before the next transaction (MIN_INTERVAL), so most events
never touch the disk; and one change a transaction, not one an event. Nothing is lost by it:
the gateway's checkpoint awaits `writer.flush()`, so a sequence number is saved only once
what came with it is written or delivered (service.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from gateway.events.model import Event
from gateway.journal.events import Change, EventStore, events_writer


class Journaling:
    def __init__(self, store: EventStore) -> None:
        self.writer = events_writer(store, self._writing)
        #: The change new events join, until its transaction starts.
        self._open: Change[Event] | None = None
        #: Ids of the events in a change whose transaction has not started, and of those of
        #: them delivered or dropped meanwhile (withdrawn from it as it starts).
        self._unwritten: set[str] = set()
        self._withdrawn: set[str] = set()

    def add(self, event: Event) -> Change[Event]:
        """`event` into the open change, returned (the caller adds its mark, shard or
        webhook id to it)."""
        change = self._open
        if change is None:
            change = self._open = Change()
            self.writer.submit(change)
        change.add.append(event)
        self._unwritten.add(event.id)
        return change

    def forget(self, batch: Sequence[Event], shards: Mapping[str, int]) -> None:
        """Delivered or dropped (`shards`: where those that came on a shard were pending):
        withdrawn when not written yet, else removed."""
        removed: list[str] = []
        unwritten, withdrawn = self._unwritten, self._withdrawn
        for event in batch:
            if event.id in unwritten:
                unwritten.discard(event.id)
                withdrawn.add(event.id)
            else:
                removed.append(event.id)
        if removed:
            where = {i: shards[i] for i in removed if i in shards}
            self.writer.submit(Change(remove=removed, shards=where))

    def keep(self, ids: Iterable[str]) -> None:
        """These events are written whatever comes (dead letters: their put follows)."""
        self._unwritten.difference_update(ids)

    def _writing(self, changes: list[Change[Event]]) -> None:
        """A transaction starts with `changes`: the events withdrawn meanwhile leave them,
        the adds left can no longer be withdrawn, and new events go into a new change."""
        self._open = None
        unwritten, withdrawn = self._unwritten, self._withdrawn
        for change in changes:
            if withdrawn and change.add:
                kept: list[Event] = []
                for event in change.add:
                    if event.id in withdrawn:
                        withdrawn.discard(event.id)
                        change.shards.pop(event.id, None)
                    else:
                        kept.append(event)
                change.add = kept
            for event in change.add:
                unwritten.discard(event.id)
