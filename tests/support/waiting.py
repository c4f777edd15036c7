"""Waiting on a condition instead of sleeping a fixed time and hoping it then holds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


async def eventually(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
    """Poll a condition of the client (the simulator has its own sim.wait_for)."""
    async with asyncio.timeout(timeout):
        while True:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.002)
    raise AssertionError(what)  # pragma: no cover
