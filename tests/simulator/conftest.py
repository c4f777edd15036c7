from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.simulator import DiscordSimulator


@pytest.fixture
async def sim() -> AsyncIterator[DiscordSimulator]:
    async with DiscordSimulator(heartbeat_interval_ms=200, seed=1) as simulator:
        yield simulator
