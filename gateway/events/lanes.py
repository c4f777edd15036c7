"""Lanes: one per guild (and one for events without a guild), each sending its events in the
order they arrived, one batch at a time (CONTRACT "Order").

A lane's next batch waits until its previous one is delivered or dead, so a guild whose events
the main app refuses holds back only itself. A batch is up to `batch_max` events; with
`batch_wait` (seconds) a lane that has fewer waits for more until its oldest event is that
old. A lane that has nothing queued has no task. How many POSTs are open at once is the
sender's limit (EVENTS_MAX_IN_FLIGHT: a lane waiting for its retry holds no slot).

Shared POSTs (`shared`, with `batch_max` > 1): a lane whose batch is ready and has room left
takes along the events of lanes that are waiting to fill theirs (the longest waiting first),
up to `batch_max` events in all: each lane's events stay together and in order, and such a
lane sends nothing else until the shared POST is answered, so its order holds. Many guilds
trickling events make one POST instead of one each (the CPU, and the main app's invocations,
go with the POSTs). A shared POST is tried once: when it fails, whatever the failure, each
lane's part is sent again alone (after the Retry-After a 429 or 503 asked for), with the
lane's own retries and dead letters, so one guild's refused events still hold back only that
guild. A lane delivering or retrying alone is never taken along.

`drop_oldest()` takes the oldest queued event of all lanes (the backlog bound): every lane is
in arrival order, so it is the head of some lane, found in O(1) through `_queued`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.events.model import Event

log = logging.getLogger("gateway.events")

Deliver = Callable[[list[Event]], Awaitable[None]]
#: One attempt of a POST carrying several lanes' parts: None when delivered, else the seconds
#: to wait before each part is sent alone.
Shared = Callable[[list[list[Event]]], Awaitable[float | None]]
#: What a lane taken along learns: None (delivered), or its part and the wait before it goes
#: alone.
Ride = tuple[list[Event], float] | None


@dataclass(eq=False, slots=True)
class Lane:
    key: str
    queue: deque[Event] = field(default_factory=deque)
    current: list[Event] = field(default_factory=list)  # the batch being delivered
    task: asyncio.Task[None] | None = None
    #: While the lane waits to fill a batch: resolved by its timer, by the batch filling up,
    #: or by `stop()` (a future and a timer: no timeout's cancellation to raise and catch).
    waiter: asyncio.Future[None] | None = None
    #: While its `current` events ride in another lane's shared POST: resolved with the answer.
    riding: asyncio.Future[Ride] | None = None


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class Lanes:
    def __init__(
        self,
        deliver: Deliver,
        *,
        batch_max: int = 1,
        batch_wait: float = 0.0,
        shared: Shared | None = None,
        clocks: Clocks = SYSTEM_CLOCKS,
    ) -> None:
        self._deliver = deliver
        self._shared = shared if batch_max > 1 else None
        self.batch_max = batch_max
        self.batch_wait = batch_wait
        self._wall = clocks.wall
        self._sleep = clocks.sleep
        self.lanes: dict[str, Lane] = {}
        self._queued: OrderedDict[Event, None] = OrderedDict()
        #: The lanes waiting to fill a batch, the longest waiting first (taken along from here).
        self._waiting: dict[Lane, None] = {}
        self.in_flight = 0  # events in batches being delivered
        self._closed = False

    @property
    def pending(self) -> int:
        return len(self._queued) + self.in_flight

    def push(self, events: Iterable[Event]) -> None:
        if self._closed:
            return
        lanes, queued, batch_max = self.lanes, self._queued, self.batch_max
        for event in events:
            key = event.lane
            lane = lanes.get(key)
            if lane is None:
                lane = lanes[key] = Lane(key)
            lane.queue.append(event)
            queued[event] = None
            if lane.task is None:
                lane.task = asyncio.get_running_loop().create_task(self._run(lane))
            elif lane.waiter is not None and len(lane.queue) >= batch_max:
                _wake(lane.waiter)

    def drop_oldest(self) -> Event | None:
        """Take the oldest queued (not in flight) event out; None when nothing is queued."""
        if not self._queued:
            return None
        event, _ = self._queued.popitem(last=False)
        lane = self.lanes[event.lane]
        if lane.queue and lane.queue[0] is event:
            lane.queue.popleft()
        else:  # not expected (each lane is in arrival order); kept correct anyway
            lane.queue.remove(event)
        return event

    def oldest_received(self) -> int | None:
        """received_at (unix ms) of the oldest pending event, queued or in flight."""
        found = [lane.current[0].received_at for lane in self.lanes.values() if lane.current]
        if self._queued:
            found.append(next(iter(self._queued)).received_at)
        return min(found, default=None)

    async def stop(self, grace: float, settled: Callable[[], bool] = lambda: False) -> None:
        """Stop taking batches; let the attempts open finish for up to `grace` s (`settled()`
        says none is open: a lane waiting for its retry is not waited for), then cut them
        (their events stay in the journal, delivered again by the next start)."""
        self._closed = True
        tasks = [lane.task for lane in self.lanes.values() if lane.task is not None]
        for lane in self.lanes.values():
            _wake(lane.waiter)  # a lane waiting to fill a batch stops waiting
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while tasks and loop.time() < deadline and not settled():
            await asyncio.wait(tasks, timeout=min(0.01, max(0.0, deadline - loop.time())))
            tasks = [task for task in tasks if not task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, lane: Lane) -> None:
        loop = asyncio.get_running_loop()
        queue = lane.queue
        try:
            while (queue or lane.riding is not None) and not self._closed:
                if lane.riding is not None:
                    await self._ride(lane)
                    continue
                if self.batch_wait > 0 and len(queue) < self.batch_max:
                    remaining = queue[0].received_at / 1000 + self.batch_wait - self._wall()
                    if remaining > 0:
                        waiter = lane.waiter = loop.create_future()
                        self._waiting[lane] = None
                        timer = loop.call_later(remaining, _wake, waiter)
                        try:
                            await waiter
                        finally:
                            lane.waiter = None
                            self._waiting.pop(lane, None)
                            timer.cancel()
                        if self._closed or lane.riding is not None or not queue:
                            continue  # stopped, taken along, or dropped meanwhile
                batch = self._take(lane, self.batch_max)
                try:
                    room = self.batch_max - len(batch)
                    if self._shared is not None and room > 0 and self._waiting:
                        await self._share(batch, self._riders(room))
                    else:
                        await self._deliver(batch)
                except Exception:  # never stop a lane; its events stay in the journal
                    log.exception("events: a batch of lane %r failed", lane.key or "(no guild)")
                finally:
                    self._done(lane)
        finally:
            lane.task = None
            if not lane.queue:
                self.lanes.pop(lane.key, None)
            elif not self._closed:
                lane.task = asyncio.get_running_loop().create_task(self._run(lane))

    def _take(self, lane: Lane, most: int) -> list[Event]:
        """The lane's next events (up to `most`) out of its queue, in flight now."""
        queue, queued = lane.queue, self._queued
        batch = [queue.popleft() for _ in range(min(most, len(queue)))]
        for event in batch:
            del queued[event]
        lane.current = batch
        self.in_flight += len(batch)
        return batch

    def _done(self, lane: Lane) -> None:
        self.in_flight -= len(lane.current)
        lane.current = []

    def _riders(self, room: int) -> list[Lane]:
        """Lanes waiting to fill a batch, taken along (their next events, `room` in all)."""
        riders: list[Lane] = []
        left = room
        for other in self._waiting:  # the longest waiting first; no copy of them all
            if left <= 0:
                break
            if other.queue:  # (empty: its events were dropped meanwhile, the backlog bound)
                riders.append(other)
                left -= len(other.queue)
        loop = asyncio.get_running_loop()
        for other in riders:
            del self._waiting[other]
            room -= len(self._take(other, room))
            other.riding = loop.create_future()
            _wake(other.waiter)  # its task now waits for the shared POST's answer
        return riders

    async def _share(self, batch: list[Event], riders: list[Lane]) -> None:
        """One POST with `batch` and the riders' parts; when it fails, each goes alone."""
        assert self._shared is not None
        wait: float | None = 0.0  # failed (0: at once) unless the POST says otherwise
        try:
            wait = await self._shared([batch, *(other.current for other in riders)])
        finally:
            for other in riders:
                ride: Ride = None if wait is None else (other.current, wait)
                if other.riding is not None and not other.riding.done():
                    other.riding.set_result(ride)
        if wait is not None:
            await self._alone(batch, wait)

    async def _ride(self, lane: Lane) -> None:
        """Wait for the shared POST the lane's `current` events went in; sent alone if it
        failed."""
        assert lane.riding is not None
        try:
            ride = await lane.riding
            if ride is not None:
                await self._alone(*ride)
        except Exception:
            log.exception("events: a batch of lane %r failed", lane.key or "(no guild)")
        finally:
            lane.riding = None
            self._done(lane)

    async def _alone(self, part: list[Event], wait: float) -> None:
        if wait > 0:
            await self._sleep(wait)
        await self._deliver(part)
