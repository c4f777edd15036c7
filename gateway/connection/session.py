"""Gateway sessions saved to STATE_DIR while running and at shutdown, loaded at start.

The file is written atomically (temporary file in the same directory, fsync, os.replace) and
consumed on load; the checkpointer (checkpoint.py) rewrites it at least every heartbeat
interval, so a restart after a crash resumes from a recent sequence number.
`SessionBackend` is what the manager needs of a store: this file, or Redis (redis_store.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.connection.protocol import SESSION_MAX_AGE
from gateway.private_files import private_dir

log = logging.getLogger("gateway.manager")

FILE_NAME = "gateway-session.json"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class SessionState:
    shard_id: int
    shard_count: int
    session_id: str
    seq: int | None
    resume_url: str
    saved_at: float = 0.0


class SessionBackend(Protocol):
    async def save_all(self, sessions: list[SessionState]) -> None: ...
    async def load_all(
        self, shard_count: int, shard_ids: Sequence[int]
    ) -> dict[int, SessionState]: ...
    async def clear_all(self, shard_ids: Sequence[int]) -> None: ...


class SessionStore:
    def __init__(
        self,
        state_dir: Path,
        *,
        max_age: float = SESSION_MAX_AGE,
        clocks: Clocks = SYSTEM_CLOCKS,
    ) -> None:
        """Sessions are stamped and aged by `clocks.wall` (they outlive the process)."""
        self.path = Path(state_dir) / FILE_NAME
        self.max_age = max_age
        self._clock = clocks.wall

    def save(self, sessions: Iterable[SessionState]) -> None:
        now = self._clock()
        body = {
            "version": FORMAT_VERSION,
            "sessions": [asdict(s) | {"saved_at": now} for s in sessions],
        }
        private_dir(self.path.parent)  # the file: mkstemp creates it 0600
        fd, tmp = tempfile.mkstemp(prefix=".gateway-session.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(orjson.dumps(body))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def load(self, shard_count: int) -> dict[int, SessionState]:
        """Fresh sessions of this shard count by shard id; the file is removed once read."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("gateway session file unreadable: %s", exc.__class__.__name__)
            return {}
        self.clear()
        try:
            body = orjson.loads(raw)
            entries: list[dict[str, Any]] = body["sessions"] if body["version"] == 1 else []
            sessions = [SessionState(**entry) for entry in entries]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("gateway session file ignored: malformed")
            return {}
        now = self._clock()
        fresh: dict[int, SessionState] = {}
        for s in sessions:
            age = now - s.saved_at
            if s.shard_count != shard_count or not 0 <= age <= self.max_age:
                continue
            fresh[s.shard_id] = s
        if len(fresh) < len(sessions):
            log.info("gateway sessions ignored as stale or foreign: %d", len(sessions) - len(fresh))
        return fresh

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    # SessionBackend: the write (fsync) runs off the event loop
    async def save_all(self, sessions: list[SessionState]) -> None:
        await asyncio.to_thread(self.save, sessions)

    async def load_all(self, shard_count: int, shard_ids: Sequence[int]) -> dict[int, SessionState]:
        return self.load(shard_count)  # the file holds this process's shards only

    async def clear_all(self, shard_ids: Sequence[int]) -> None:
        self.clear()
