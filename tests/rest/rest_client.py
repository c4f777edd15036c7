"""What the DiscordRest tests share: a client on the loopback stand-in with the fake clock,
and rate-limit headers as Discord sends them."""

from __future__ import annotations

import httpx

from gateway.clock import Clocks
from gateway.rest.client import DiscordRest
from tests.rest.conftest import FakeClock
from tests.support.discord_rest import DiscordStub
from tests.support.harness import logcapture

Stub = tuple[DiscordStub, str]
BOT_TOKEN = "bot-token"
logcapture.add_secret(BOT_TOKEN)  # the secrets check looks for it in the suite's logs


def make(stub: Stub, client: httpx.AsyncClient, clock: FakeClock, **kw: object) -> DiscordRest:
    clocks = Clocks(monotonic=clock, sleep=clock.sleep)
    return DiscordRest(stub[1], BOT_TOKEN, client, clocks=clocks, **kw)  # type: ignore[arg-type]


def limit_headers(
    remaining: int, reset_after: float, bucket: str = "abc", limit: int = 5
) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset-After": str(reset_after),
        "X-RateLimit-Bucket": bucket,
    }
