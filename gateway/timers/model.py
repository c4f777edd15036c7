"""A league timer and a delivery: plain immutable records, their JSON form and their clock.

Every running timer is a clock started at `started_at` with `run_ms` to run; its due time is
`quiet.advance(started_at, run_ms, quiet)`. A `fire_at` timer is the same clock started when
it was created with `fire_at - now` to run (no quiet hours), so pause, resume and extend treat
both kinds alike: each change rebases the clock (`started_at` = now, `run_ms` = what is left).
`remaining_ms` is the clock's time left: quiet hours do not count.

A reminder `x` ("x ms before the fire") falls due when the clock has `x` left; the reminders
already due are in `sent`. Times are unix milliseconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from gateway.timers.quiet import Quiet, advance, running_between

#: More than this after its due time, a delivery says `late: true` (CONTRACT "Firing").
LATE_AFTER_MS = 5000


class State(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    FIRED = "fired"
    CANCELLED = "cancelled"


class Kind(StrEnum):
    FIRE = "fire"
    REMINDER = "reminder"


@dataclass(frozen=True, slots=True)
class TimerSpec:
    """A validated POST /timers body; `digest` identifies the body (same body, same digest)."""

    id: str
    digest: str
    fire_at: int | None = None
    duration_ms: int | None = None
    reminders_ms: tuple[int, ...] = ()
    payload: Any = None
    overlay: str | None = None
    quiet: Quiet | None = None


@dataclass(frozen=True, slots=True)
class Timer:
    id: str
    digest: str
    state: State
    started_at: int
    run_ms: int  # running: left at started_at; otherwise what was left when it stopped
    due_at: int | None  # running only
    reminders: tuple[int, ...]  # descending
    sent: frozenset[int]
    payload: Any
    overlay: str | None
    quiet: Quiet | None
    created_at: int
    finished_at: int | None = None
    version: int = 0

    @classmethod
    def new(cls, spec: TimerSpec, now: int) -> Timer:
        run_ms = spec.duration_ms if spec.duration_ms is not None else (spec.fire_at or 0) - now
        reminders = tuple(sorted(set(spec.reminders_ms), reverse=True))
        timer = cls(
            id=spec.id,
            digest=spec.digest,
            state=State.RUNNING,
            started_at=now,
            run_ms=run_ms,
            due_at=None,
            reminders=reminders,
            # A reminder as long as the timer or longer has no "before": never sent.
            sent=frozenset(x for x in reminders if x >= run_ms),
            payload=spec.payload,
            overlay=spec.overlay,
            quiet=spec.quiet,
            created_at=now,
        )
        return timer.rebased(now, run_ms)

    # -- the clock --------------------------------------------------------------------------
    def remaining(self, now: int) -> int:
        if self.state is State.RUNNING:
            return max(0, self.run_ms - running_between(self.started_at, now, self.quiet))
        if self.state is State.FIRED:
            return 0
        return max(0, self.run_ms)

    def rebased(self, now: int, run_ms: int, state: State = State.RUNNING) -> Timer:
        """The clock restarted at `now` with `run_ms` left (due time computed when running)."""
        due = advance(now, run_ms, self.quiet) if state is State.RUNNING else None
        return dataclasses.replace(
            self, state=state, started_at=now, run_ms=run_ms, due_at=due, version=self.version + 1
        )

    @property
    def scheduled_at(self) -> int | None:
        """The due time while running, else None (the store's index of what falls due)."""
        return self.due_at if self.state is State.RUNNING else None

    def reminder_at(self, x: int) -> int:
        """When reminder `x` falls due (now-ish if the clock already has less than `x` left)."""
        if x >= self.run_ms:
            return self.started_at
        return advance(self.started_at, self.run_ms - x, self.quiet)

    def next_event(self) -> tuple[int, Kind, int] | None:
        """(when, kind, reminder) of the next thing that falls due; None when not running."""
        if self.state is not State.RUNNING or self.due_at is None:
            return None
        for x in self.reminders:  # descending: the first one not sent falls due first
            if x not in self.sent:
                return min(self.reminder_at(x), self.due_at), Kind.REMINDER, x
        return self.due_at, Kind.FIRE, 0

    # -- views ------------------------------------------------------------------------------
    def reminders_at(self) -> list[int]:
        if self.state is not State.RUNNING:
            return []
        return [self.reminder_at(x) for x in self.reminders if x not in self.sent]

    def view(self, now: int) -> dict[str, Any]:
        """What GET /timers/{id} answers."""
        return {
            "id": self.id,
            "state": self.state.value,
            "due_at": self.due_at,
            "remaining_ms": self.remaining(now),
            "reminders_at": self.reminders_at(),
            "payload": self.payload,
            "overlay": self.overlay,
        }

    def overlay_event(self, now: int) -> dict[str, Any]:
        """The Socket.IO `timer` event (CONTRACT "On the overlay")."""
        return {
            "id": self.id,
            "state": self.state.value,
            "due_at": self.due_at,
            "remaining_ms": self.remaining(now),
            "server_now": now,
        }

    # -- storage ----------------------------------------------------------------------------
    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "id": self.id,
                "digest": self.digest,
                "state": self.state.value,
                "started_at": self.started_at,
                "run_ms": self.run_ms,
                "reminders": list(self.reminders),
                "sent": sorted(self.sent),
                "payload": self.payload,
                "overlay": self.overlay,
                "quiet": self.quiet.to_json() if self.quiet else None,
                "created_at": self.created_at,
                "finished_at": self.finished_at,
                "version": self.version,  # which of two records is newer (sync.py)
            }
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> Timer:
        data = orjson.loads(raw)
        quiet = data.get("quiet")
        state = State(data["state"])
        timer = cls(
            id=data["id"],
            digest=data["digest"],
            state=state,
            started_at=data["started_at"],
            run_ms=data["run_ms"],
            due_at=None,
            reminders=tuple(data["reminders"]),
            sent=frozenset(data["sent"]),
            payload=data.get("payload"),
            overlay=data.get("overlay"),
            quiet=Quiet.parse(quiet["start"], quiet["end"], quiet["tz"]) if quiet else None,
            created_at=data["created_at"],
            finished_at=data.get("finished_at"),
            version=data.get("version", 0),
        )
        if state is State.RUNNING:
            due = advance(timer.started_at, timer.run_ms, timer.quiet)
            timer = dataclasses.replace(timer, due_at=due)
        return timer


@dataclass(frozen=True, slots=True)
class Delivery:
    """One fire or reminder on its way to the main app (kept until its 2xx or dead letter)."""

    id: str  # X-Delivery-Id: the same on every attempt, across restarts
    timer_id: str
    kind: Kind
    due_at: int
    remaining_ms: int | None
    payload: Any

    def body(self, sent_at: int) -> bytes:
        """The POST body of an attempt made at `sent_at`."""
        body: dict[str, Any] = {
            "id": self.timer_id,
            "kind": self.kind.value,
            "due_at": self.due_at,
            "sent_at": sent_at,
            "late": sent_at - self.due_at > LATE_AFTER_MS,
        }
        if self.kind is Kind.REMINDER:
            body["remaining_ms"] = self.remaining_ms
        body["payload"] = self.payload
        return orjson.dumps(body)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "id": self.id,
                "timer_id": self.timer_id,
                "kind": self.kind.value,
                "due_at": self.due_at,
                "remaining_ms": self.remaining_ms,
                "payload": self.payload,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> Delivery:
        data = orjson.loads(raw)
        return cls(
            data["id"],
            data["timer_id"],
            Kind(data["kind"]),
            data["due_at"],
            data.get("remaining_ms"),
            data.get("payload"),
        )
