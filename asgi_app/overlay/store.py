"""Where the last state of each overlay lives: files in STATE_DIR, or Redis for several nodes."""

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

from asgi_app.overlay.state import DEFAULT_STATE, OverlayState, valid_name

log = logging.getLogger(__name__)


class OverlayStore(Protocol):
    """The last posted state of each overlay. States are returned as stored: read-only."""

    async def open(self) -> None: ...

    async def get(self, name: str) -> OverlayState: ...

    async def set(self, name: str, state: OverlayState) -> None: ...

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
        self._version: dict[str, int] = {}
        self._written: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def open(self) -> None:
        self._states = await asyncio.to_thread(self._load_all)

    def _load_all(self) -> dict[str, OverlayState]:
        self.directory.mkdir(parents=True, exist_ok=True)
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
        self._states[name] = state
        version = self._version.get(name, 0) + 1
        self._version[name] = version
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            if self._written.get(name, 0) >= version:
                return  # a write that started after our set already carried it
            newest = self._version[name]
            data = orjson.dumps(self._states[name])
            path = self.directory / f"{name}.json"
            await asyncio.to_thread(write_atomically, path, data)
            self._written[name] = newest

    async def close(self) -> None:
        return None


class RedisStore:
    """States as JSON strings under `{prefix}{name}` in Redis, shared by every node."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "overlay:state:",
        default: Mapping[str, Any] = DEFAULT_STATE,
    ) -> None:
        self._client: aioredis.Redis = aioredis.Redis.from_url(url)
        self._prefix = prefix
        self._default: OverlayState = dict(default)

    async def open(self) -> None:
        await self._client.ping()

    async def get(self, name: str) -> OverlayState:
        raw = await self._client.get(self._prefix + name)
        if raw is None:
            return self._default
        loaded = orjson.loads(raw)
        return loaded if isinstance(loaded, dict) else self._default

    async def set(self, name: str, state: OverlayState) -> None:
        _check_name(name)
        await self._client.set(self._prefix + name, orjson.dumps(state))

    async def close(self) -> None:
        await self._client.aclose()


def build_store(state_dir: Path, redis_url: str | None) -> OverlayStore:
    """RedisStore when REDIS_URL is set, else FileStore under STATE_DIR/overlays."""
    if redis_url:
        return RedisStore(redis_url)
    return FileStore(state_dir / "overlays")
