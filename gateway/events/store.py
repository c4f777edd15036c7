"""The events' journal: every event from its arrival until the main app's 2xx (or until it is
forgotten), the dead letters, and what dedupes a dispatch that comes again.

- `EventStore` (protocol): `load()` and `apply(changes)` (one transaction). Implementations:
  `MemoryEventStore` (tests), `store_sqlite.SqliteEventStore` (STATE_DIR/events.sqlite3),
  `store_redis.RedisEventStore` (REDIS_URL).
- `Journal`: the one writer in front of a store. `submit(change)` queues a change and returns
  at once (the gateway's dispatch loop calls it inline); the writer applies everything queued
  so far in one transaction (group commit), in order, and hands the events it made durable to
  `on_durable` (the lanes). `flush()` returns once everything submitted before it is durable:
  the gateway awaits it before it saves a session checkpoint, so the checkpoint's sequence
  number never runs ahead of the journal. A failed write is retried (1 s doubling to 30 s)
  and holds the queue: nothing behind it is written first, nothing is given up. Transactions
  start at most every MIN_INTERVAL (5 ms): under load each carries what came meanwhile (a
  transaction through the worker thread costs ~0.1 ms of CPU, the rows a few us each:
  docs/PERFORMANCE.md "Events"); an idle journal writes at once.

Dedupe: for each gateway session, the highest `seq` journaled (`marks`): a dispatch replayed
at or below it was journaled already (a session numbers its dispatches in order). Webhook
Event ids are kept for WEBHOOK_KEEP seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from gateway.events.model import Event

log = logging.getLogger("gateway.events")

#: Most changes one transaction carries.
MAX_BATCH = 4096
#: Shortest time between the starts of two transactions (s).
MIN_INTERVAL = 0.005
RETRY_FIRST = 1.0
RETRY_CAP = 30.0
#: How long a webhook event id is remembered (Discord's retries of one event come within it).
WEBHOOK_KEEP = 24 * 3600.0
#: How long a session's mark is kept after its last event (a resume is accepted for minutes).
MARK_KEEP = 6 * 3600.0


@dataclass
class Change:
    add: list[Event] = field(default_factory=list)  # new pending events (kept if present)
    put: list[Event] = field(default_factory=list)  # rewritten (dead, queued again)
    remove: list[str] = field(default_factory=list)  # delivered, dropped, forgotten
    marks: dict[str, tuple[int, float]] = field(default_factory=dict)  # session -> (seq, at)
    webhooks: dict[str, float] = field(default_factory=dict)  # webhook id -> seen at
    prune_before: float | None = None  # forget marks and webhook ids older than this


@dataclass
class Contents:
    events: list[Event] = field(default_factory=list)  # pending and dead, in arrival order
    marks: dict[str, tuple[int, float]] = field(default_factory=dict)
    webhooks: dict[str, float] = field(default_factory=dict)


class EventStore(Protocol):
    async def load(self) -> Contents: ...

    async def apply(self, changes: Sequence[Change]) -> None: ...

    async def aclose(self) -> None: ...


class MemoryEventStore:
    """Tests: what a restart would find (hand the same store to a second service)."""

    def __init__(self) -> None:
        self.rows: dict[str, bytes] = {}
        self.marks: dict[str, tuple[int, float]] = {}
        self.webhooks: dict[str, float] = {}
        self.transactions = 0
        self.fail = False  # tests: every apply raises
        self.delay = 0.0  # tests: each apply takes this long

    async def load(self) -> Contents:
        events = [Event.from_row(i, row) for i, row in self.rows.items()]
        events.sort(key=lambda e: e.n)
        return Contents(events, dict(self.marks), dict(self.webhooks))

    async def apply(self, changes: Sequence[Change]) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise OSError("the memory store is told to fail")
        self.transactions += 1
        for change in changes:
            for event in change.add:
                self.rows.setdefault(event.id, event.to_row())
            for event in change.put:
                self.rows[event.id] = event.to_row()
            for event_id in change.remove:
                self.rows.pop(event_id, None)
            self.marks.update(change.marks)
            self.webhooks.update(change.webhooks)
            if change.prune_before is not None:
                cut = change.prune_before
                self.marks = {k: v for k, v in self.marks.items() if v[1] >= cut}
                self.webhooks = {k: v for k, v in self.webhooks.items() if v >= cut}

    async def aclose(self) -> None:
        return None


class Journal:
    """The writer in front of an `EventStore` (see the module's docstring)."""

    def __init__(
        self,
        store: EventStore,
        on_durable: Callable[[list[Event]], None] = lambda events: None,
        *,
        min_interval: float = MIN_INTERVAL,
    ) -> None:
        self.store = store
        self.on_durable = on_durable
        self.min_interval = min_interval
        self._queue: list[Change] = []
        self._submitted = 0  # changes submitted so far
        self._durable = 0  # of them, applied
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._writing = 0  # changes at the head of the queue being written now
        self.failing = False  # the last write failed (retrying)
        self.writes = 0

    @property
    def backlog(self) -> int:
        """Changes submitted and not yet durable."""
        return self._submitted - self._durable

    def submit(self, change: Change) -> None:
        if self._closed:
            raise RuntimeError("the events journal is closed")
        self._queue.append(change)
        self._submitted += 1
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="events-journal")
        self._wake.set()

    def oldest_unwritten(self) -> Event | None:
        """The oldest event queued and not being written yet (the backlog bound drops it)."""
        for change in self._queue[self._writing :]:
            if change.add:
                return change.add[0]
        return None

    def drop_unwritten(self, event: Event) -> bool:
        for change in self._queue[self._writing :]:
            if event in change.add:
                change.add.remove(event)
                return True
        return False

    async def flush(self) -> None:
        """Return once every change submitted before this call is durable."""
        target = self._submitted
        if self._durable >= target:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, future))
        await future

    async def aclose(self, grace: float = 10.0) -> None:
        """Write what is queued (for up to `grace` s), stop the writer, close the store."""
        self._closed = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            except TimeoutError:
                log.error("events journal: %d changes not written at close", len(self._queue))
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        await self.store.aclose()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        delay = RETRY_FIRST
        last = -self.min_interval
        while True:
            if not self._queue:
                if self._closed:
                    return
                await self._wake.wait()
                self._wake.clear()
                continue
            pause = last + self.min_interval - loop.time()
            if pause > 0 and not self._closed:
                await asyncio.sleep(pause)  # what comes meanwhile joins this transaction
            last = loop.time()
            batch = self._queue[:MAX_BATCH]
            self._writing = len(batch)
            try:
                await self.store.apply(batch)
            except Exception as exc:
                if not self.failing:
                    log.error("events journal write failed: %s; retrying", type(exc).__name__)
                self.failing = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_CAP)
                continue
            if self.failing:
                log.warning("events journal writes again")
            self.failing, delay = False, RETRY_FIRST
            del self._queue[: len(batch)]
            self._writing = 0
            self._durable += len(batch)
            self.writes += 1
            self._release()
            durable = [event for change in batch for event in change.add]
            if durable:
                self.on_durable(durable)

    def _release(self) -> None:
        waiting: list[tuple[int, asyncio.Future[None]]] = []
        for target, future in self._waiters:
            if target <= self._durable:
                if not future.done():
                    future.set_result(None)
            else:
                waiting.append((target, future))
        self._waiters = waiting


async def open_event_store(state_dir: Path | None, redis_url: str | None) -> EventStore:
    """Redis when REDIS_URL is set, else SQLite in STATE_DIR, else memory (with a warning)."""
    if redis_url:
        from gateway.events.store_redis import RedisEventStore

        log.info("events journal: redis")
        return await RedisEventStore.open(redis_url)
    if state_dir is not None:
        from gateway.events.store_sqlite import SqliteEventStore

        store = await SqliteEventStore.open(state_dir)
        log.info("events journal: %s", store.path.name)
        return store
    log.warning("events journal in memory only: a restart loses what is pending")
    return MemoryEventStore()
