"""The identify budget (checklist 17): Discord's `session_start_limit`, counted here.

Every IDENTIFY spends one. Before the budget runs out it is refreshed from /gateway/bot (the
other processes of the bot spend from the same daily limit); at 0 the identify waits for
`reset_after` instead of going out (Discord resets the bot token of a bot that keeps
identifying past its limit). While it waits, `waiting` says why and until when (unix time);
/health and GET /discord show it and the audit log gets it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from gateway.clock import SYSTEM_CLOCKS, Clocks

log = logging.getLogger("gateway.manager")

REFRESH_EVERY: Final = 60.0  # seconds between refreshes while the budget is low
MIN_WAIT: Final = 1.0  # a reset that Discord says is due but has not happened: try again then

Refresh = Callable[[], Awaitable[Mapping[str, Any]]]  # -> a fresh session_start_limit
Notice = Callable[[str], None]


class IdentifyBudget:
    def __init__(
        self,
        limit: Mapping[str, Any],
        refresh: Refresh,
        *,
        low_water: int | None = None,
        on_wait: Notice | None = None,
        clocks: Clocks = SYSTEM_CLOCKS,
    ) -> None:
        """`low_water`: refresh when this many or fewer remain (default a tenth of total)."""
        self._refresh_limit = refresh
        self._on_wait = on_wait
        self._clock = clocks.monotonic
        self._wall = clocks.wall
        self._sleep = clocks.sleep
        self._lock = asyncio.Lock()
        self._low_water = low_water
        self.total = 0
        self.remaining = 0
        self.spent = 0
        self.refreshes = 0
        self.waiting: dict[str, Any] | None = None  # {"reason", "until"} while at 0
        self._reset_at = 0.0
        self._refreshed_at = float("-inf")
        self._apply(limit)

    @property
    def low_water(self) -> int:
        return self._low_water if self._low_water is not None else max(1, self.total // 10)

    def _apply(self, limit: Mapping[str, Any]) -> None:
        self.total = int(limit.get("total", 1000))
        self.remaining = int(limit.get("remaining", self.total))
        self._reset_at = self._clock() + float(limit.get("reset_after", 0)) / 1000.0

    async def _refresh(self) -> bool:
        self._refreshed_at = self._clock()
        try:
            limit = await self._refresh_limit()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("identify budget: refresh failed (%s)", exc.__class__.__name__)
            return False
        self.refreshes += 1
        self._apply(limit)
        return True

    async def spend(self) -> None:
        """Take one identify from the budget; waits while it is exhausted."""
        async with self._lock:
            low = self.remaining <= self.low_water
            if low and self._clock() - self._refreshed_at >= REFRESH_EVERY:
                await self._refresh()
            while self.remaining <= 0:
                await self._wait_for_reset()
            self.remaining -= 1
            self.spent += 1

    async def _wait_for_reset(self) -> None:
        wait = max(self._reset_at - self._clock(), MIN_WAIT)
        until = self._wall() + wait
        reason = (
            f"session start limit used up ({self.total} identifies): identifying again"
            f" after the reset in {wait:.0f} s"
        )
        self.waiting = {"reason": reason, "until": round(until, 3)}
        log.warning("gateway: %s", reason)
        if self._on_wait is not None:
            try:
                self._on_wait(reason)
            except Exception:
                log.exception("identify budget: notice callback failed")
        try:
            await self._sleep(wait)
            if not await self._refresh():  # no answer: the reset time has passed
                self.remaining = max(self.remaining, 1)
        finally:
            self.waiting = None
