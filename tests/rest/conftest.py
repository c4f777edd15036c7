from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.discord_rest import DiscordStub
from tests.support.harness.server import serve


class FakeClock:
    """Monotonic time that only moves when someone sleeps; records every sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 9))
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def stub() -> AsyncIterator[tuple[DiscordStub, str]]:
    app = DiscordStub()
    async with serve(app) as base:
        yield app, base + "/api/v10"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as c:
        yield c
