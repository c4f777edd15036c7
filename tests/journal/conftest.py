"""The journal's stores over a real SQLite file and a real redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from gateway.journal.interactions import Journal, MemoryJournal
from gateway.journal.interactions_redis import RedisJournal
from gateway.journal.interactions_sqlite import SqliteJournal
from tests.support.harness.redis_server import redis_server
from tests.support.tools import require_tool

Opener = Callable[..., Awaitable[Journal]]


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    async with redis_server(require_tool("redis-server")) as url:
        yield url


async def _openers(kind: str, tmp_path: Path) -> AsyncIterator[Opener]:
    """Each call opens the SAME store again (same file, same redis-server), as a restart
    would; everything opened is closed at the end."""
    async with AsyncExitStack() as stack:
        url: str | None = None
        if kind == "redis":
            url = await stack.enter_async_context(redis_server(require_tool("redis-server")))

        async def opener(**options: Any) -> Journal:
            journal: Journal
            if kind == "sqlite":
                journal = await SqliteJournal.open(tmp_path, **options)
            elif kind == "redis":
                assert url is not None
                journal = await RedisJournal.open(url, "test:", **options)
            else:
                journal = MemoryJournal(**options)
            stack.push_async_callback(journal.aclose)
            return journal

        yield opener


@pytest.fixture(params=["sqlite", "redis", "memory"])
async def open_journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    async for opener in _openers(request.param, tmp_path):
        yield opener


@pytest.fixture(params=["sqlite", "redis"])
async def open_durable(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    async for opener in _openers(request.param, tmp_path):
        yield opener
