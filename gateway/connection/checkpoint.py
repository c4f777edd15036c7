"""Session checkpoints while the gateway runs (checklist 15).

Every shard's session (id, seq, resume URL) is written to the session backend at least once
per heartbeat interval, and soon after a shard becomes READY, so that a restart after a crash
(SIGKILL, OOM) resumes while Discord still accepts the session. Nothing is written when no
session changed since the last write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from gateway.connection.session import SessionBackend, SessionState
from gateway.connection.shard import Shard

log = logging.getLogger("gateway.manager")

DEFAULT_INTERVAL = 41.25  # Discord's usual heartbeat interval, until a HELLO told us


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
        beats = [s.heartbeat_interval for s in self._shards() if s.heartbeat_interval]
        return min(beats, default=DEFAULT_INTERVAL)

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
