"""Where timers and their deliveries in flight are kept (CONTRACT "League timers": "Durable"):
SQLite in STATE_DIR (`timers_sqlite.py`), or Redis with REDIS_URL (`timers_redis.py`); in
memory (below) for tests and a server with neither.

A store holds two collections: the timers (by id, the whole record) and the outbox (the
deliveries that fell due and have not had the main app's 2xx yet). A `Change` writes both in
one transaction, so a fire is never "done" in the timer without its delivery in the outbox.
`write` returns once the change is durable; changes are applied in the order they were
submitted, and those submitted together share one transaction (the group commit,
group_commit.py: 10,000 fires in the same second are a handful of commits, not 10,000); a
failed transaction raises StoreUnavailable in each of its writers. A store keeps the records'
bytes (`to_json()`); `load` gives them back and the timers room (gateway/timers/) decodes
them.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from gateway.journal.group_commit import GroupCommit

log = logging.getLogger("gateway.timers")


class TimerRecord(Protocol):
    """What a store needs of a timer (gateway.timers.model.Timer)."""

    @property
    def id(self) -> str: ...

    @property
    def scheduled_at(self) -> int | None: ...  # its due time (unix ms) while running

    def to_json(self) -> bytes: ...


class DeliveryRecord(Protocol):
    """What a store needs of a delivery (gateway.timers.model.Delivery)."""

    @property
    def id(self) -> str: ...

    def to_json(self) -> bytes: ...


@dataclass(frozen=True)
class Change:
    timers: Sequence[TimerRecord] = ()  # written whole (insert or replace)
    forget: Sequence[str] = ()  # timer ids removed
    deliveries: Sequence[DeliveryRecord] = ()  # added to the outbox
    done: Sequence[str] = ()  # delivery ids removed from the outbox


@dataclass
class Contents:
    timers: list[bytes] = field(default_factory=list)  # each timer's record
    outbox: list[bytes] = field(default_factory=list)  # each delivery's


class TimerStore(Protocol):
    async def load(self) -> Contents: ...

    async def write(self, change: Change) -> None: ...

    async def aclose(self) -> None: ...


class StoreUnavailable(Exception):
    """The store could not take a change (the route answers 503; nothing was changed)."""


class GroupCommitted(ABC):
    """A store's `write`: through the group commit into its `apply` (one transaction)."""

    def __init__(self) -> None:
        self._commit = self._writer()

    def _writer(self) -> GroupCommit[Change]:
        return GroupCommit(self.apply, name="timer store", retry=False, error=StoreUnavailable)

    @abstractmethod
    async def load(self) -> Contents: ...

    @abstractmethod
    async def apply(self, changes: Sequence[Change]) -> None: ...

    async def write(self, change: Change) -> None:
        await self._commit.write(change)

    async def close_writer(self) -> None:
        """Finish what is queued, then stop the writer."""
        await self._commit.aclose()


class MemoryTimerStore:
    """Tests and `make run` without STATE_DIR: what a restart would find is kept in memory
    (a test may hand the same store to a second engine to play a restart). Nothing to wait
    for: a change is applied as it is written, no group commit."""

    def __init__(self) -> None:
        self.timers: dict[str, bytes] = {}
        self.outbox: dict[str, bytes] = {}
        self.writes = 0
        self.fail = False  # tests: every write raises StoreUnavailable

    async def load(self) -> Contents:
        return Contents(list(self.timers.values()), list(self.outbox.values()))

    async def write(self, change: Change) -> None:
        if self.fail:
            raise StoreUnavailable("the memory store is told to fail")
        self.writes += 1
        _apply_to_dicts(change, self.timers, self.outbox)

    async def aclose(self) -> None:
        return None


def _apply_to_dicts(change: Change, timers: dict[str, bytes], outbox: dict[str, bytes]) -> None:
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
        from gateway.journal.timers_redis import RedisTimerStore

        log.info("timers: redis")
        return await RedisTimerStore.open(redis_url)
    if state_dir is not None:
        from gateway.journal.timers_sqlite import SqliteTimerStore

        store = await SqliteTimerStore.open(state_dir)
        log.info("timers: %s", store.path.name)
        return store
    log.warning("timers in memory only: a restart loses them")
    return MemoryTimerStore()
