"""The timers' state and the one place each change is decided: create, pause, resume, extend,
cancel, and what falls due (`tick`). No I/O of its own but the store's `write`, no task, no
sleep: `TimerService` runs it; tests drive it with injected `clocks` (the wall clock).

Every change is written to the store before it is answered (a failed write restores the
timer as it was and raises StoreUnavailable). A fire or reminder that falls due is written,
with its delivery, in the same transaction, and only then handed to `deliver`: a crash before
the write leaves the timer running (it falls due again at the next start, late), a crash
after it leaves the delivery in the outbox (sent again at the next start, same delivery id).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.journal.timers import Change, StoreUnavailable, TimerStore
from gateway.timers.model import Delivery, Kind, State, Timer, TimerSpec
from gateway.timers.schedule import Schedule

log = logging.getLogger("gateway.timers")

#: How long a fired or cancelled timer is kept (GET shows it; the same POST is still a 200).
FINISHED_TTL_MS = 24 * 3600 * 1000

Listener = Callable[[Timer, int], None]  # (the timer as it is now, now)
Deliver = Callable[[Sequence[Delivery]], None]


class TimerError(Exception):
    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class TimerNotFound(TimerError):
    status = 404


class TimerConflict(TimerError):
    status = 409


@dataclass
class TimerStats:
    created: int = 0
    fired: int = 0
    reminders: int = 0
    cancelled: int = 0
    running: int = 0
    paused: int = 0


def _active(state: State) -> bool:
    return state is State.RUNNING or state is State.PAUSED


class TimerEngine:
    def __init__(
        self,
        store: TimerStore,
        *,
        clocks: Clocks = SYSTEM_CLOCKS,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        finished_ttl_ms: int = FINISHED_TTL_MS,
    ) -> None:
        self.store = store
        self._clock = clocks.wall
        self._new_id = new_id
        self._ttl = finished_ttl_ms
        self._timers: dict[str, Timer] = {}
        self._schedule = Schedule()
        self._finished: deque[tuple[int, str, int]] = deque()  # (finished_at, id, version)
        self._listeners: list[Listener] = []
        self._deliver: Deliver = lambda deliveries: None
        self._wake: Callable[[], None] = lambda: None
        self.stats = TimerStats()

    def now(self) -> int:
        """Unix ms, rounded down: an event due at `t` is handled when now() >= t, never early."""
        return int(self._clock() * 1000)

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def attach(self, deliver: Deliver, wake: Callable[[], None]) -> None:
        """`deliver`: hands due deliveries on (after they are stored); `wake`: called when the
        schedule changed (the runner recomputes its sleep)."""
        self._deliver, self._wake = deliver, wake

    @property
    def pending(self) -> int:
        """Timers running or paused."""
        return self.stats.running + self.stats.paused

    # -- reading ----------------------------------------------------------------------------
    def get(self, timer_id: str) -> Timer:
        timer = self._timers.get(timer_id)
        if timer is None:
            raise TimerNotFound("No timer has this id")
        return timer

    def find_one(self, timer_id: str) -> Timer | None:
        return self._timers.get(timer_id)

    def find(self, prefix: str = "") -> list[Timer]:
        found = [t for i, t in self._timers.items() if i.startswith(prefix)]
        return sorted(found, key=lambda t: t.id)

    def timers(self) -> Sequence[Timer]:
        return list(self._timers.values())

    def next_at(self) -> int | None:
        return self._schedule.next_at()

    # -- loading ----------------------------------------------------------------------------
    async def load(self) -> list[Delivery]:
        """Read the store: timers scheduled (what fell due meanwhile is due at once), the
        outbox returned (the caller sends it again)."""
        contents = await self.store.load()
        timers = [Timer.from_json(raw) for raw in contents.timers]
        entries = []
        finished = []
        for timer in timers:
            self._timers[timer.id] = timer
            self._count(None, timer)
            event = timer.next_event()
            if event is not None:
                entries.append((event[0], timer.id, timer.version))
            elif timer.finished_at is not None:
                finished.append((timer.finished_at, timer.id, timer.version))
        self._schedule.rebuild(entries)
        self._finished.extend(sorted(finished))
        self._wake()
        now = self.now()
        for timer in timers:
            if _active(timer.state):
                self._notify(timer, now)
        return [Delivery.from_json(raw) for raw in contents.outbox]

    async def reload(self) -> list[Delivery]:
        """Read the store again from scratch (this node now runs the timers: sync.py)."""
        self._timers.clear()
        self._finished.clear()
        self.stats.running = self.stats.paused = 0
        return await self.load()

    def adopt(self, timer: Timer) -> None:
        """A change another node wrote (sync.py): applied here without writing, unless this
        node already has that version or a later one."""
        old = self._timers.get(timer.id)
        if old is None or timer.version > old.version:
            self._put(old, timer)

    def drop(self, timer_id: str) -> None:
        """Another node forgot this timer (sync.py)."""
        old = self._timers.pop(timer_id, None)
        if old is not None:
            self._count(old, None)
            self._schedule.discard(timer_id)

    # -- changes ----------------------------------------------------------------------------
    async def create(self, spec: TimerSpec) -> tuple[Timer, bool]:
        """(the timer, True) when created; (the existing one, False) for the same body again;
        TimerConflict for another body under the same id."""
        existing = self._timers.get(spec.id)
        if existing is not None:
            if existing.digest == spec.digest:
                return existing, False
            raise TimerConflict("A timer with this id exists with another body")
        timer = Timer.new(spec, self.now())
        await self._commit(None, timer)
        self.stats.created += 1
        return timer, True

    async def pause(self, timer_id: str) -> Timer:
        timer = self._changeable(timer_id)
        if timer.state is State.PAUSED:
            return timer
        now = self.now()
        return await self._commit(timer, timer.rebased(now, timer.remaining(now), State.PAUSED))

    async def resume(self, timer_id: str) -> Timer:
        timer = self._changeable(timer_id)
        if timer.state is State.RUNNING:
            return timer
        return await self._commit(timer, timer.rebased(self.now(), timer.run_ms))

    async def extend(self, timer_id: str, ms: int) -> Timer:
        """Add `ms` to the clock (negative shortens, never below zero: the due time does not
        move into the past). Reminders that are ahead again are sent again; those now behind
        that were not sent fall due at once."""
        timer = self._changeable(timer_id)
        now = self.now()
        left = max(0, timer.remaining(now) + ms)
        rearmed = dataclasses.replace(timer, sent=frozenset(x for x in timer.sent if x >= left))
        return await self._commit(timer, rearmed.rebased(now, left, timer.state))

    async def cancel(self, timer_id: str) -> Timer:
        """Running or paused: cancelled (nothing fires after it). Already fired or cancelled:
        forgotten (its id is free again); the timer as it was is returned."""
        timer = self.get(timer_id)
        if not _active(timer.state):
            del self._timers[timer_id]
            self._count(timer, None)
            try:
                await self.store.write(Change(forget=[timer_id]))
            except StoreUnavailable:
                self._timers.setdefault(timer_id, timer)
                raise
            return timer
        now = self.now()
        cancelled = dataclasses.replace(
            timer.rebased(now, timer.remaining(now), State.CANCELLED), finished_at=now
        )
        await self._commit(timer, cancelled)
        self.stats.cancelled += 1
        return cancelled

    def _changeable(self, timer_id: str) -> Timer:
        timer = self.get(timer_id)
        if not _active(timer.state):
            raise TimerConflict(f"The timer is {timer.state.value}")
        return timer

    async def _commit(self, old: Timer | None, new: Timer) -> Timer:
        self._put(old, new)
        try:
            await self.store.write(Change(timers=[new]))
        except StoreUnavailable:
            if self._timers.get(new.id) is new:  # nothing changed it meanwhile: undo
                if old is None:
                    del self._timers[new.id]
                    self._count(new, None)
                    self._schedule.discard(new.id)
                else:
                    self._put(new, dataclasses.replace(old, version=new.version + 1))
            raise
        self._notify(new, self.now())
        return new

    def _put(self, old: Timer | None, new: Timer) -> None:
        self._timers[new.id] = new
        self._count(old, new)
        event = new.next_event()
        if event is None:
            self._schedule.discard(new.id)
            if new.finished_at is not None:
                self._finished.append((new.finished_at, new.id, new.version))
        else:
            self._schedule.push(event[0], new.id, new.version)
            self._wake()

    def _count(self, old: Timer | None, new: Timer | None) -> None:
        stats = self.stats
        for timer, step in ((old, -1), (new, 1)):
            if timer is not None and timer.state is State.RUNNING:
                stats.running += step
            elif timer is not None and timer.state is State.PAUSED:
                stats.paused += step

    def _notify(self, timer: Timer, now: int) -> None:
        for listener in self._listeners:
            try:
                listener(timer, now)
            except Exception:
                log.exception("timer listener failed")

    # -- falling due ------------------------------------------------------------------------
    async def tick(self) -> list[Delivery]:
        """Everything due now: each timer's reminders and fire, written with their deliveries
        (one transaction), then handed to `deliver`."""
        now = self.now()
        deliveries: list[Delivery] = []
        changed: dict[str, Timer] = {}
        while (due := self._schedule.pop_due(now)) is not None:
            timer = self._timers.get(due[0])
            if timer is None or timer.version != due[1]:
                continue
            event = timer.next_event()
            if event is None:
                continue
            at, kind, x = event
            if kind is Kind.REMINDER:
                new = dataclasses.replace(timer, sent=timer.sent | {x}, version=timer.version + 1)
                remaining = timer.remaining(now)
                self.stats.reminders += 1
            else:
                new = dataclasses.replace(
                    timer.rebased(now, 0, State.FIRED), due_at=timer.due_at, finished_at=now
                )
                remaining = None
                self.stats.fired += 1
            deliveries.append(
                Delivery(self._new_id(), timer.id, kind, at, remaining, timer.payload)
            )
            self._put(timer, new)
            changed[new.id] = new
        if not deliveries:
            return deliveries
        try:
            await self.store.write(Change(timers=list(changed.values()), deliveries=deliveries))
        except StoreUnavailable:
            log.error("timers: %d deliveries could not be stored; sent anyway", len(deliveries))
        self._deliver(deliveries)
        for timer in changed.values():
            if timer.state is State.FIRED:
                self._notify(timer, now)
        return deliveries

    async def prune(self) -> int:
        """Forget the timers that finished more than the TTL ago; how many."""
        horizon = self.now() - self._ttl
        forget = []
        while self._finished and self._finished[0][0] <= horizon:
            _, timer_id, version = self._finished.popleft()
            timer = self._timers.get(timer_id)
            if timer is not None and timer.version == version:
                del self._timers[timer_id]
                forget.append(timer_id)
        if forget:
            try:
                await self.store.write(Change(forget=forget))
            except StoreUnavailable:
                log.warning("timers: %d finished timers not forgotten in the store", len(forget))
        return len(forget)
