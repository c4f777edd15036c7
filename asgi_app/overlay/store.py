"""Where the last state of each overlay lives: files in STATE_DIR, or Redis for several nodes.

When the storage fails (STATE_DIR unwritable, Redis unreachable) a `set` raises
StoreUnavailable (the route answers 503 with Retry-After: the state is not accepted, so nothing
is pushed that a restart would lose), `get` keeps answering the last known state, and
`health()` reports the store down until it works again. Nothing needs a restart to recover.
A state that cannot be serialised raises StateNotStorable before anything changes: what the
store holds in memory and in storage stays the previous state, so what is served is always
what was stored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from asgi_app.overlay.state import DEFAULT_STATE, OverlayState, valid_name

log = logging.getLogger(__name__)

#: Seconds a client is told to wait (Retry-After) when the store cannot take a state.
RETRY_AFTER_SECONDS = 5
#: Redis commands give up after this long (an unreachable host must not hang a request).
REDIS_TIMEOUT_SECONDS = 2.0


class StoreUnavailable(OSError):
    """The state could not be stored (the storage failed); nothing was changed or pushed.

    An OSError: the storage is a disk or a connection, and callers of the store may treat it
    as one.
    """


class StateNotStorable(ValueError):
    """The state cannot be serialised as JSON (e.g. nested too deep); nothing was changed."""


def serialise(state: OverlayState) -> bytes:
    """The stored form of a state; StateNotStorable when it has none."""
    try:
        return orjson.dumps(state)
    except orjson.JSONEncodeError as exc:
        raise StateNotStorable(f"the state cannot be serialised as JSON ({exc})") from None


class OverlayStore(Protocol):
    """The last posted state of each overlay. States are returned as stored: read-only."""

    async def open(self) -> None: ...

    async def get(self, name: str) -> OverlayState: ...

    async def set(self, name: str, state: OverlayState) -> None:
        """Store `state`; raises StoreUnavailable when the storage fails, StateNotStorable
        when `state` cannot be serialised (nothing changed either way)."""
        ...

    async def health(self) -> dict[str, Any]:
        """`{"ok": bool, "store": kind, ...}` for /health: a probe of the storage itself."""
        ...

    async def close(self) -> None: ...


def _check_name(name: str) -> None:
    if not valid_name(name):
        raise ValueError("invalid overlay name")


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves the old file or the new, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class FileStore:
    """One JSON file per overlay in `directory`, loaded at open, kept in memory.

    `set` returns once the new state is on disk. Concurrent sets of one overlay are coalesced:
    a write always carries the newest state, so a burst of POSTs costs one write per fsync.
    """

    def __init__(self, directory: Path, *, default: Mapping[str, Any] = DEFAULT_STATE) -> None:
        self.directory = directory
        self._default: OverlayState = dict(default)
        self._states: dict[str, OverlayState] = {}
        self._data: dict[str, bytes] = {}  # the newest state of each overlay, serialised
        self._saved: dict[str, OverlayState] = {}
        self._failure: str | None = None
        self._version: dict[str, int] = {}
        self._written: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def open(self) -> None:
        self._states = await asyncio.to_thread(self._load_all)
        self._saved = dict(self._states)

    def _load_all(self) -> dict[str, OverlayState]:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # files: 0600
        states: dict[str, OverlayState] = {}
        for path in sorted(self.directory.glob("*.json")):
            name = path.stem
            if not valid_name(name):
                continue
            try:
                loaded = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                log.warning("overlay state file unreadable, ignored", extra={"overlay": name})
                continue
            if isinstance(loaded, dict):
                states[name] = loaded
        return states

    async def get(self, name: str) -> OverlayState:
        return self._states.get(name, self._default)

    async def set(self, name: str, state: OverlayState) -> None:
        _check_name(name)
        self._data[name] = serialise(state)  # before anything changes
        self._states[name] = state
        version = self._version.get(name, 0) + 1
        self._version[name] = version
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            if self._written.get(name, 0) >= version:
                return  # a write that started after our set already carried it
            newest = self._version[name]
            data = self._data[name]
            path = self.directory / f"{name}.json"
            try:
                await asyncio.to_thread(write_atomically, path, data)
            except OSError as exc:
                self._failure = type(exc).__name__
                log.error("overlay state not written: %s", self._failure, extra={"overlay": name})
                if self._version[name] == newest:  # no newer state waits: back to the saved
                    self._states[name] = self._saved.get(name, self._default)
                raise StoreUnavailable(f"STATE_DIR is not writable ({self._failure})") from None
            self._saved[name] = self._states[name]
            self._written[name] = newest
            self._failure = None

    async def health(self) -> dict[str, Any]:
        health: dict[str, Any] = {"ok": True, "store": "file"}
        try:
            await asyncio.to_thread(self._probe)
        except OSError as exc:
            health.update(ok=False, error=f"STATE_DIR not writable ({type(exc).__name__})")
        return health

    def _probe(self) -> None:
        """Create and remove a file where the states are written (root ignores modes)."""
        probe = self.directory / f".probe.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        probe.unlink()

    async def close(self) -> None:
        return None


class RedisStore:
    """States as JSON strings under `{prefix}{name}` in Redis, shared by every node.

    Each state read or written is also kept in memory: while Redis is unreachable `get`
    answers the last state this node knew (and `set` raises StoreUnavailable).
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str = "overlay:state:",
        default: Mapping[str, Any] = DEFAULT_STATE,
    ) -> None:
        self._client = client  # built by the factory, with REDIS_TIMEOUT_SECONDS; closed here
        self._prefix = prefix
        self._default: OverlayState = dict(default)
        self._known: dict[str, OverlayState] = {}

    async def open(self) -> None:
        await self._client.ping()

    async def get(self, name: str) -> OverlayState:
        try:
            raw = await self._client.get(self._prefix + name)
        except (RedisError, OSError) as exc:
            log.warning(
                "redis unreachable, last known overlay state served: %s", type(exc).__name__
            )
            return self._known.get(name, self._default)
        if raw is None:
            return self._default
        try:
            loaded = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.warning("overlay state in redis unreadable, ignored", extra={"overlay": name})
            loaded = None
        state = loaded if isinstance(loaded, dict) else self._default
        self._known[name] = state
        return state

    async def set(self, name: str, state: OverlayState) -> None:
        _check_name(name)
        data = serialise(state)
        try:
            await self._client.set(self._prefix + name, data)
        except (RedisError, OSError) as exc:
            log.error("overlay state not stored, redis unreachable: %s", type(exc).__name__)
            raise StoreUnavailable("Redis is unreachable") from None
        self._known[name] = state

    async def health(self) -> dict[str, Any]:
        health: dict[str, Any] = {"ok": True, "store": "redis"}
        try:
            await asyncio.wait_for(self._client.ping(), REDIS_TIMEOUT_SECONDS)
        except (RedisError, OSError, TimeoutError) as exc:
            health.update(ok=False, error=f"redis unreachable ({type(exc).__name__})")
        return health

    async def close(self) -> None:
        await self._client.aclose()


def build_store(state_dir: Path, redis: aioredis.Redis | None) -> OverlayStore:
    """RedisStore on `redis` (a client of REDIS_URL) when there is one, else FileStore under
    STATE_DIR/overlays."""
    if redis is not None:
        return RedisStore(redis)
    return FileStore(state_dir / "overlays")
