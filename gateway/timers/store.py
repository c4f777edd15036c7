"""Where timers and their deliveries in flight are kept: the journal's store (CONTRACT
"Durable"): SQLite in STATE_DIR, or Redis with REDIS_URL; in memory for tests.

A store holds two collections: the timers (by id, the whole record) and the outbox (the
deliveries that fell due and have not had the main app's 2xx yet). A `Change` writes both in
one transaction, so a fire is never "done" in the timer without its delivery in the outbox.
`write` returns once the change is durable; changes are applied in the order they were
submitted (one writer), and those submitted together share one transaction (group commit:
10,000 fires in the same second are a handful of commits, not 10,000).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from gateway.timers.model import Delivery, Timer

log = logging.getLogger("gateway.timers")

#: Most changes one transaction carries.
MAX_BATCH = 4096


@dataclass(frozen=True)
class Change:
    timers: Sequence[Timer] = ()  # written whole (insert or replace)
    forget: Sequence[str] = ()  # timer ids removed
    deliveries: Sequence[Delivery] = ()  # added to the outbox
    done: Sequence[str] = ()  # delivery ids removed from the outbox


@dataclass
class Contents:
    timers: list[Timer] = field(default_factory=list)
    outbox: list[Delivery] = field(default_factory=list)


class TimerStore(Protocol):
    async def load(self) -> Contents: ...

    async def write(self, change: Change) -> None: ...

    async def aclose(self) -> None: ...


class StoreUnavailable(Exception):
    """The store could not take a change (the route answers 503; nothing was changed)."""


class GroupCommit:
    """One writer task: takes every change queued so far, applies them in one transaction
    (`apply`, a store's), and wakes each submitter with the outcome."""

    def __init__(self) -> None:
        self._queue: list[tuple[Change, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def apply(self, changes: Sequence[Change]) -> None:
        raise NotImplementedError

    async def write(self, change: Change) -> None:
        if self._closed:
            raise StoreUnavailable("the timer store is closed")
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((change, future))
        self._wake.set()
        await future

    async def close_writer(self) -> None:
        """Finish what is queued, then stop the writer."""
        self._closed = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                try:
                    await self.apply([change for change, _ in batch])
                except Exception as exc:
                    log.error("timer store write failed: %s", type(exc).__name__)
                    failure = StoreUnavailable(type(exc).__name__)
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(failure)
                else:
                    for _, future in batch:
                        if not future.done():
                            future.set_result(None)
            if self._closed:
                return


class MemoryTimerStore:
    """Tests and `make run` without STATE_DIR: what a restart would find is kept in memory
    (a test may hand the same store to a second engine to play a restart)."""

    def __init__(self) -> None:
        self.timers: dict[str, bytes] = {}
        self.outbox: dict[str, bytes] = {}
        self.writes = 0
        self.fail = False  # tests: every write raises StoreUnavailable

    async def load(self) -> Contents:
        return Contents(
            [Timer.from_json(raw) for raw in self.timers.values()],
            [Delivery.from_json(raw) for raw in self.outbox.values()],
        )

    async def write(self, change: Change) -> None:
        if self.fail:
            raise StoreUnavailable("the memory store is told to fail")
        self.writes += 1
        apply_to_dicts(change, self.timers, self.outbox)

    async def aclose(self) -> None:
        return None


def apply_to_dicts(change: Change, timers: dict[str, bytes], outbox: dict[str, bytes]) -> None:
    for timer in change.timers:
        timers[timer.id] = timer.to_json()
    for timer_id in change.forget:
        timers.pop(timer_id, None)
    for delivery in change.deliveries:
        outbox[delivery.id] = delivery.to_json()
    for delivery_id in change.done:
        outbox.pop(delivery_id, None)


async def open_timer_store(state_dir: Path | None, redis_url: str | None) -> TimerStore:
    """Redis when REDIS_URL is set, else SQLite in STATE_DIR, else memory (with a warning)."""
    if redis_url:
        from gateway.timers.store_redis import RedisTimerStore

        log.info("timers: redis")
        return await RedisTimerStore.open(redis_url)
    if state_dir is not None:
        from gateway.timers.store_sqlite import SqliteTimerStore

        store = await SqliteTimerStore.open(state_dir)
        log.info("timers: %s", store.path.name)
        return store
    log.warning("timers in memory only: a restart loses them")
    return MemoryTimerStore()
