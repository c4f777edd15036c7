"""Runs the timers: loads the store at start (the outbox is sent again, what fell due while
the process was down falls due at once), sleeps until the next event, hands what falls due to
the signed sender, and removes a delivery from the outbox once the main app has answered 2xx
(or it became a dead letter).

`late` is measured at each attempt (the body's `sent_at` more than 5 s after `due_at`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.delivery.sender import Outcome, SignedSender
from gateway.journal.timers import Change, StoreUnavailable
from gateway.timers.engine import TimerEngine
from gateway.timers.model import LATE_AFTER_MS, Delivery

log = logging.getLogger("gateway.timers")

#: The runner sleeps at most this long (s) between looks at the clock, so a wall-clock step
#: (NTP) delays nothing by more than this.
MAX_SLEEP = 1.0
#: How often (s) fired and cancelled timers past their TTL are forgotten.
PRUNE_EVERY = 60.0
#: On stop, how long deliveries in flight may finish (the rest stay in the outbox).
DRAIN_GRACE = 2.0


@dataclass
class DeliveryStats:
    late: int = 0  # first attempts made more than 5 s after due_at
    delivered: int = 0
    dead: int = 0
    lag_ms_max: int = 0  # the largest (first attempt - due_at) seen


class TimerService:
    def __init__(
        self,
        engine: TimerEngine,
        sender: SignedSender,
        url: str,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.sender = sender
        self.url = url
        self._monotonic = monotonic
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.stats = DeliveryStats()
        #: Several nodes (sync.py): True while this node holds the timers' role (None: alone)
        self.active: Callable[[], bool] | None = None
        self._reloads: set[asyncio.Task[None]] = set()
        engine.attach(self._send_all, self._wake.set)

    async def start(self) -> None:
        outbox = await self.engine.load()
        if self.active is None or self.active():
            self._resend(outbox)
        self._runner = asyncio.get_running_loop().create_task(self._run(), name="timers")

    def _resend(self, outbox: Sequence[Delivery]) -> None:
        if outbox:
            log.warning(
                "timers: %d deliveries unfinished by the last runner, sent again", len(outbox)
            )
        self._send_all(outbox)

    def set_active(self, active: bool) -> None:
        """The timers' role gained (the store read again, the outbox sent again) or lost."""
        if active:
            task = asyncio.get_running_loop().create_task(self._take_over())
            self._reloads.add(task)
            task.add_done_callback(self._reloads.discard)
        self._wake.set()

    async def _take_over(self) -> None:
        try:
            self._resend(await self.engine.reload())
        except Exception:
            log.exception("timers: the store could not be read after gaining the role")

    @property
    def in_flight(self) -> int:
        """Deliveries not yet answered 2xx (or dead)."""
        return len(self._tasks)

    def health(self) -> dict[str, Any]:
        engine = self.engine
        return {
            "ok": self._runner is not None and not self._runner.done(),
            "pending": engine.pending,
            "running": engine.stats.running,
            "paused": engine.stats.paused,
            "deliveries_pending": self.in_flight,
        }

    async def stop(self, grace: float = DRAIN_GRACE) -> None:
        """Stop falling due; let deliveries in flight finish for `grace` s (what is left stays
        in the outbox for the next start); close the store."""
        for task in (self._runner, *self._reloads):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.sender.poster.aclose()
        await self.engine.store.aclose()

    # -- the runner ---------------------------------------------------------------------------
    async def _run(self) -> None:
        engine = self.engine
        next_prune = self._monotonic() + PRUNE_EVERY
        while True:
            self._wake.clear()
            running = self.active is None or self.active()  # one runner among the nodes
            try:
                if running:
                    await engine.tick()
                if running and self._monotonic() >= next_prune:
                    next_prune = self._monotonic() + PRUNE_EVERY
                    await engine.prune()
            except Exception:
                log.exception("timers: the runner failed a round; next round in 1 s")
                await asyncio.sleep(MAX_SLEEP)
                continue
            due = engine.next_at() if running else None
            delay = MAX_SLEEP if due is None else (due - engine.now()) / 1000
            if delay <= 0:
                continue
            try:
                async with asyncio.timeout(min(delay, MAX_SLEEP)):
                    await self._wake.wait()
            except TimeoutError:
                pass

    # -- deliveries ---------------------------------------------------------------------------
    def _send_all(self, deliveries: Sequence[Delivery]) -> None:
        loop = asyncio.get_running_loop()
        for delivery in deliveries:
            task = loop.create_task(self._deliver(delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: Delivery) -> None:
        stats = self.stats
        first = True

        def body_at(now: float) -> bytes:
            nonlocal first
            sent_at = int(now * 1000)
            if first:
                first = False
                lag = sent_at - delivery.due_at
                stats.lag_ms_max = max(stats.lag_ms_max, lag)
                if lag > LATE_AFTER_MS:
                    stats.late += 1
            return delivery.body(sent_at)

        try:
            outcome = await self.sender.deliver(
                self.url, delivery.id, body_at, {"X-Timer-Id": delivery.timer_id}
            )
        except Exception:  # a bug: the delivery stays in the outbox for the next start
            log.exception("timers: delivery %s failed unexpectedly", delivery.id)
            return
        if outcome is Outcome.DELIVERED:
            stats.delivered += 1
        else:
            stats.dead += 1
        try:
            await self.engine.store.write(Change(done=[delivery.id]))
        except StoreUnavailable:
            log.warning("timers: delivery %s done but not removed from the outbox", delivery.id)
