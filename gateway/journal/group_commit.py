"""The group commit of the events and timers stores: one writer in front of a store's `apply`.

Changes are queued (`submit`: at once, nobody waits; `write`: returns once the change is
durable) and the one writer task applies everything queued so far in ONE call of `apply` (one
transaction), in the order submitted, at most `max_batch` at a time. Under load a transaction
carries many changes (10,000 timer fires in one second are a handful of commits); an idle
store writes at once. `min_interval` spaces the transactions' starts (what comes meanwhile
joins the next one), unless somebody waits: a `write` or a `flush` cuts the pause short.
`flush()` returns once everything submitted before it is durable (the events' checkpoint
barrier). `on_writing` gets each batch as its transaction starts (from then on its changes are
written as they are; until then a change in `queued()` may still be altered); `on_durable`
gets each batch once it is durable.

A failed `apply`, by `retry`:
- True (events): the batch is retried (RETRY_FIRST doubling to RETRY_CAP, gateway/backoff.py)
  and holds the queue: nothing behind it is written first, nothing is given up; `failing`
  says so meanwhile.
- False (timers): each `write` of the batch raises `error(name of the exception)`, and the
  writer goes on with what comes next.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from gateway.backoff import backoff_delay

log = logging.getLogger("gateway.journal")

C = TypeVar("C")

#: Most changes one transaction carries.
MAX_BATCH = 4096
RETRY_FIRST = 1.0
RETRY_CAP = 30.0

Apply = Callable[[Sequence[C]], Awaitable[None]]


class GroupCommit(Generic[C]):
    def __init__(
        self,
        apply: Apply[C],
        *,
        name: str,
        retry: bool,
        on_durable: Callable[[list[C]], None] | None = None,
        on_writing: Callable[[list[C]], None] | None = None,
        min_interval: float = 0.0,
        max_batch: int = MAX_BATCH,
        error: Callable[[str], Exception] = RuntimeError,
    ) -> None:
        self._apply = apply
        self.name = name
        self.retry = retry
        self.on_durable = on_durable
        self.on_writing = on_writing
        self.min_interval = min_interval
        self.max_batch = max_batch
        self._error = error
        self._queue: list[tuple[C, asyncio.Future[None] | None]] = []
        self._submitted = 0  # changes submitted so far
        self._durable = 0  # of them, applied (or failed, without retry)
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()  # somebody waits: no pause before the next transaction
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._writing = 0  # changes at the head of the queue being written now
        self.failing = False  # the last write failed (retrying)
        self.writes = 0  # transactions applied

    @property
    def backlog(self) -> int:
        """Changes submitted and not yet durable."""
        return self._submitted - self._durable

    def submit(self, change: C) -> None:
        """Queue `change`; it is written with the next transaction (nobody waits for it)."""
        self._enqueue(change, None)

    async def write(self, change: C) -> None:
        """Queue `change` and return once it is durable (raise when its transaction failed)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(change, future)
        self._hurry.set()
        await future

    def queued(self) -> list[C]:
        """The changes queued and not being written yet, oldest first (the same objects: a
        change altered here is written altered)."""
        return [change for change, _ in self._queue[self._writing :]]

    async def flush(self) -> None:
        """Return once every change submitted before this call is durable."""
        target = self._submitted
        if self._durable >= target:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, future))
        self._hurry.set()
        await future

    async def aclose(self, grace: float | None = None) -> None:
        """Write what is queued (for up to `grace` s; None: however long it takes), then stop
        the writer."""
        self._closed = True
        self._wake.set()
        self._hurry.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            log.error("%s: %d changes not written at close", self.name, len(self._queue))
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _enqueue(self, change: C, future: asyncio.Future[None] | None) -> None:
        if self._closed:
            raise self._error(f"the {self.name} is closed")
        self._queue.append((change, future))
        self._submitted += 1
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        last = -self.min_interval
        while True:
            if not self._queue:
                if self._closed:
                    return
                await self._wake.wait()
                self._wake.clear()
                continue
            pause = last + self.min_interval - loop.time()
            if pause > 0 and not self._closed and not self._hurry.is_set():
                try:  # what comes meanwhile joins this transaction
                    await asyncio.wait_for(self._hurry.wait(), pause)
                except TimeoutError:
                    pass
            self._hurry.clear()
            last = loop.time()
            batch = self._queue[: self.max_batch]
            self._writing = len(batch)
            changes = [change for change, _ in batch]
            if self.on_writing is not None:  # again on a retry: it takes what joined since
                self.on_writing(changes)
            failure: Exception | None = None
            try:
                await self._apply(changes)
            except Exception as exc:
                if self.retry:
                    if not self.failing:
                        log.error("%s write failed: %s; retrying", self.name, type(exc).__name__)
                    self.failing = True
                    failures += 1
                    await asyncio.sleep(backoff_delay(failures, RETRY_FIRST, RETRY_CAP))
                    continue
                log.error("%s write failed: %s", self.name, type(exc).__name__)
                failure = self._error(type(exc).__name__)
            else:
                if self.failing:
                    log.warning("%s writes again", self.name)
                self.failing, failures = False, 0
                self.writes += 1
            del self._queue[: len(batch)]
            self._writing = 0
            self._durable += len(batch)
            for _, future in batch:
                if future is not None and not future.done():
                    if failure is None:
                        future.set_result(None)
                    else:
                        future.set_exception(failure)
            self._release()
            if failure is None and self.on_durable is not None:
                self.on_durable(changes)

    def _release(self) -> None:
        waiting: list[tuple[int, asyncio.Future[None]]] = []
        for target, future in self._waiters:
            if target <= self._durable:
                if not future.done():
                    future.set_result(None)
            else:
                waiting.append((target, future))
        self._waiters = waiting
