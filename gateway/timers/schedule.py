"""The schedule: a binary heap of (when, sequence, timer id, version), one live entry per
running timer (its next reminder or its fire).

Popping the earliest entry and pushing a timer's next one cost O(log n): the work per fire
does not grow with the timers pending (no scan). A change to a timer (pause, extend, cancel)
does not search the heap: the timer's version moves on and its old entry, now stale, is
skipped when it comes up. Stale entries are counted; when they outnumber the live ones the
heap is rebuilt from the live timers (O(n), at most once per n changes).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

#: (when, sequence, timer id, timer version)
Entry = tuple[int, int, str, int]
#: Rebuild when the stale entries pass max(this, the live entries).
MIN_STALE_FOR_REBUILD = 1024


class Schedule:
    def __init__(self) -> None:
        self._heap: list[Entry] = []
        self._seq = 0
        self._live: dict[str, int] = {}  # timer id -> version of its one live entry

    def __len__(self) -> int:
        return len(self._live)

    def push(self, when: int, timer_id: str, version: int) -> None:
        """The timer's next event; replaces (makes stale) the entry it had."""
        self._seq += 1
        self._live[timer_id] = version
        heapq.heappush(self._heap, (when, self._seq, timer_id, version))
        self._maybe_rebuild()

    def discard(self, timer_id: str) -> None:
        """The timer has nothing scheduled any more (its entry goes stale)."""
        self._live.pop(timer_id, None)

    def next_at(self) -> int | None:
        """When the earliest live entry falls due (stale ones at the top are dropped)."""
        heap = self._heap
        while heap:
            _, _, timer_id, version = heap[0]
            if self._live.get(timer_id) == version:
                return heap[0][0]
            heapq.heappop(heap)
        return None

    def pop_due(self, now: int) -> tuple[str, int] | None:
        """(timer id, version) of a live entry due at `now` or before, earliest first."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, timer_id, version = heapq.heappop(heap)
            if self._live.get(timer_id) == version:
                del self._live[timer_id]
                return timer_id, version
        return None

    def rebuild(self, entries: Iterable[tuple[int, str, int]]) -> None:
        self._heap = []
        self._live = {}
        for when, timer_id, version in entries:
            self._seq += 1
            self._live[timer_id] = version
            self._heap.append((when, self._seq, timer_id, version))
        heapq.heapify(self._heap)

    def _maybe_rebuild(self) -> None:
        stale = len(self._heap) - len(self._live)
        if stale > max(MIN_STALE_FOR_REBUILD, len(self._live)):
            live = self._live
            keep = [e for e in self._heap if live.get(e[2]) == e[3]]
            heapq.heapify(keep)
            self._heap = keep

    # for tests and the bench
    def heap_size(self) -> int:
        return len(self._heap)
