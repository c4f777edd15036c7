"""Session checkpoints while the gateway runs (checklist 15).

Every shard's session (id, seq, resume URL) is written to the session backend at least once
per heartbeat interval, and soon after a shard becomes READY, so that a restart after a crash
(SIGKILL, OOM) resumes while Discord still accepts the session. Nothing is written when no
session changed since the last write.

`JournalFirst` wraps the backend when something journals dispatches (the events for the main
app, gateway/events/): every save (these checkpoints and the one at stop) first awaits its
barrier, so a saved `seq` never runs ahead of what is journaled; a resume from it replays the
rest. A barrier that fails or takes longer than BARRIER_TIMEOUT skips that save (the last one
saved stays, behind the journal, as it must).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from gateway.connection.session import SessionBackend, SessionState
from gateway.connection.shard import Shard

log = logging.getLogger("gateway.manager")

DEFAULT_INTERVAL = 41.25  # Discord's usual heartbeat interval, until a HELLO told us
BARRIER_TIMEOUT = 10.0

Barrier = Callable[[], Awaitable[None]]


class JournalFirst:
    """A `SessionBackend` whose saves wait for `barrier` (everything dispatched so far
    journaled) first; the sessions are taken before the wait, so none is ahead of it."""

    def __init__(self, backend: SessionBackend, barrier: Barrier) -> None:
        self._backend = backend
        self._barrier = barrier

    async def save_all(self, sessions: list[SessionState]) -> None:
        try:
            await asyncio.wait_for(self._barrier(), BARRIER_TIMEOUT)
        except Exception as exc:
            log.warning("gateway session not saved: journal barrier %s", type(exc).__name__)
            return
        await self._backend.save_all(sessions)

    async def load_all(self, shard_count: int, shard_ids: Sequence[int]) -> dict[int, SessionState]:
        return await self._backend.load_all(shard_count, shard_ids)

    async def clear_all(self, shard_ids: Sequence[int]) -> None:
        await self._backend.clear_all(shard_ids)


class Checkpointer:
    def __init__(
        self,
        backend: SessionBackend,
        shards: Callable[[], Sequence[Shard]],
        *,
        interval: float | None = None,
    ) -> None:
        """`interval` None: the shortest heartbeat interval of the shards."""
        self._backend = backend
        self._shards = shards
        self._interval = interval
        self._due = asyncio.Event()
        self._last: list[SessionState] | None = None
        self._task: asyncio.Task[None] | None = None
        self.writes = 0

    def interval(self) -> float:
        if self._interval is not None:
            return self._interval
        beats = [s.state.heartbeat_interval for s in self._shards() if s.state.heartbeat_interval]
        return min(beats, default=DEFAULT_INTERVAL)

    @property
    def saved(self) -> list[SessionState] | None:
        """The sessions the last write saved (None: nothing written yet)."""
        return self._last

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="gateway-checkpoints")

    def poke(self) -> None:
        """Write soon (a shard just became READY or RESUMED)."""
        self._due.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def sessions(self) -> list[SessionState]:
        return [s for s in (shard.session_state() for shard in self._shards()) if s is not None]

    async def write(self) -> None:
        sessions = self.sessions()
        if not sessions or sessions == self._last:
            return
        await self._backend.save_all(sessions)
        self._last = sessions
        self.writes += 1

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._due.wait(), self.interval())
            except TimeoutError:
                pass
            self._due.clear()
            try:
                await self.write()
            except Exception as exc:  # a full disk or a lost Redis must not stop the gateway
                log.warning("gateway session checkpoint failed: %s", exc.__class__.__name__)
