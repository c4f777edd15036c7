"""The injected time sources every part of `gateway/` takes (tests pass fake ones)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Clock = Callable[[], float]  # seconds: time.monotonic, time.time, or a fake
Sleep = Callable[[float], Awaitable[None]]  # asyncio.sleep, or a fake that advances a Clock
