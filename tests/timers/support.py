"""Shared by the timer tests: a settable clock, an engine on a memory store that records what
it hands on, and specs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway.clock import Clocks
from gateway.journal.timers import MemoryTimerStore
from gateway.timers.engine import TimerEngine
from gateway.timers.model import Delivery, Timer, TimerSpec
from gateway.timers.quiet import Quiet

T0 = 1_800_000_000_000  # 2027-01-15T08:00:00Z, in ms


@dataclass
class Clock:
    ms: int = T0

    def __call__(self) -> float:
        return self.ms / 1000

    def advance(self, ms: int) -> None:
        self.ms += ms


@dataclass
class Harness:
    clock: Clock
    store: MemoryTimerStore
    engine: TimerEngine
    delivered: list[Delivery] = field(default_factory=list)
    changes: list[tuple[str, str]] = field(default_factory=list)  # (id, state)

    async def at(self, ms: int) -> list[Delivery]:
        """Move the clock to `ms` and tick."""
        self.clock.ms = ms
        return await self.engine.tick()


def harness(store: MemoryTimerStore | None = None, clock: Clock | None = None) -> Harness:
    clock = clock or Clock()
    store = store or MemoryTimerStore()
    counter = iter(range(1, 1_000_000))
    engine = TimerEngine(store, clocks=Clocks(wall=clock), new_id=lambda: f"d{next(counter)}")
    h = Harness(clock, store, engine)

    def deliver(deliveries: Sequence[Delivery]) -> None:
        h.delivered.extend(deliveries)

    def changed(timer: Timer, now: int) -> None:
        h.changes.append((timer.id, timer.state.value))

    engine.attach(deliver, lambda: None)
    engine.on_change(changed)
    return h


def spec(timer_id: str = "t1", **fields: Any) -> TimerSpec:
    fields.setdefault("duration_ms", 30_000)
    if "fire_at" in fields:
        fields.pop("duration_ms")
    quiet = fields.pop("quiet", None)
    return TimerSpec(
        id=timer_id,
        digest=repr(sorted(fields.items())) + repr(quiet),
        quiet=Quiet.parse(*quiet) if quiet else None,
        **fields,
    )


def local_ms(tz: str, year: int, month: int, day: int, hour: int, minute: int) -> int:
    """Unix ms of a local wall-clock time in `tz` (first occurrence)."""
    return int(datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz)).timestamp() * 1000)


def local(tz: str, ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S %Z")
