"""GET /gateway/bot, retried with backoff until it answers with a URL (or fails for good: an
error with a true `permanent` attribute, such as a bot token Discord refuses, is raised)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.clock import Clocks
from gateway.connection.backoff import Backoff
from gateway.connection.timings import ShardTimings

log = logging.getLogger("gateway.manager")

FetchGatewayBot = Callable[[], Awaitable[dict[str, Any]]]


async def fetch_gateway_bot(
    fetch: FetchGatewayBot, timings: ShardTimings, clocks: Clocks
) -> dict[str, Any]:
    backoff = Backoff.of(timings, clocks)
    while True:
        try:
            info = await fetch()
            str(info["url"])
            return info
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if getattr(exc, "permanent", False):  # e.g. the bot token marked invalid
                raise
            delay = backoff.next_delay()
            log.warning(
                "GET /gateway/bot failed (%s); retrying in %.2f s", exc.__class__.__name__, delay
            )
            await clocks.sleep(delay)
