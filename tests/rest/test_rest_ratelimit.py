"""DiscordRest rate limits (buckets, 429s, the global limit) with a fake clock for exact waits."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from gateway.clock import Clocks
from gateway.rest.client import (
    DiscordRest,
)
from tests.rest.conftest import FakeClock
from tests.rest.rest_client import Stub, limit_headers, make
from tests.support.discord_rest import Reply


async def test_exhausted_bucket_waits_exactly_reset_after(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    app.script("POST", "/channels/1/messages", Reply(headers=limit_headers(0, 2.5)))
    rest = make(stub, client, clock)
    await rest.request("POST", "/channels/1/messages", {"n": 1})
    assert clock.sleeps == []
    # another channel (another major parameter) and the other routes do not wait
    await rest.request("POST", "/channels/2/messages", {"n": 2})
    await rest.request("POST", "/interactions/9/tok/callback", {"type": 5})
    assert clock.sleeps == []
    start = clock.now
    await rest.request("POST", "/channels/1/messages", {"n": 3})
    assert clock.sleeps == [2.5]
    assert clock.now - start == pytest.approx(2.5)
    assert rest.buckets.waits == 1
    await rest.aclose()


async def test_routes_sharing_a_bucket_hash_share_the_wait(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    # learn that both routes map to bucket "shared" (on channel 1)
    app.script("GET", "/channels/1/messages$", Reply(headers=limit_headers(3, 1.0, "shared")))
    app.script("POST", "/channels/1/messages$", Reply(headers=limit_headers(0, 4.0, "shared")))
    rest = make(stub, client, clock)
    await rest.request("GET", "/channels/1/messages")
    await rest.request("POST", "/channels/1/messages", {})
    await rest.request("GET", "/channels/1/messages")
    assert clock.sleeps == [4.0]


async def test_window_refills_after_reset(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    app.script("POST", "/channels/1/messages", Reply(headers=limit_headers(1, 3.0, limit=2)))
    rest = make(stub, client, clock)
    await rest.request("POST", "/channels/1/messages", {})
    await rest.request("POST", "/channels/1/messages", {})  # the last one in this window
    assert clock.sleeps == []
    await rest.request("POST", "/channels/1/messages", {})  # waits for the reset
    assert clock.sleeps == [3.0]


async def test_route_429_is_honoured_and_counted_invalid(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    app.script(
        "POST",
        "/channels/1/messages",
        Reply(429, {"message": "rate limited", "retry_after": 1.25, "global": False}),
    )
    rest = make(stub, client, clock)
    response = await rest.request("POST", "/channels/1/messages", {})
    assert response.status_code == 200
    assert len(app.requests) == 2
    assert clock.sleeps == [1.25]
    assert app.requests[1].at >= app.requests[0].at
    assert rest.invalid.count() == 1
    assert rest.stats.rate_limited == 1


async def test_shared_scope_429_is_not_an_invalid_request(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    app.script(
        "POST",
        "/channels/1/messages",
        Reply(429, {"retry_after": 0.5, "global": False}, {"X-RateLimit-Scope": "shared"}),
    )
    rest = make(stub, client, clock)
    assert (await rest.request("POST", "/channels/1/messages", {})).status_code == 200
    assert rest.invalid.count() == 0
    assert clock.sleeps == [0.5]


async def test_global_429_pauses_bot_routes_but_not_interaction_callbacks(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    app.script(
        "POST",
        "/channels/1/messages",
        Reply(429, {"retry_after": 2.0, "global": True}, {"X-RateLimit-Global": "true"}),
    )
    rest = make(stub, client, clock)
    assert (await rest.request("POST", "/channels/1/messages", {})).status_code == 200
    assert clock.sleeps == [2.0]  # the retry waited out the global pause
    assert rest.stats.global_rate_limited == 1
    # a new global pause: bot routes of any bucket wait, the callback goes at once
    rest.global_limiter.pause(7.0)
    await rest.request("POST", "/interactions/1/tok/callback", {"type": 5})
    assert clock.sleeps == [2.0]
    await rest.request("GET", "/guilds/3/roles")
    assert clock.sleeps == [2.0, 7.0]
    await rest.aclose()


async def test_global_limit_is_never_exceeded_fake_clock(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    rest = make(stub, client, clock)
    sent_at: list[float] = []
    real_acquire = rest.global_limiter.acquire

    async def recording_acquire() -> None:
        await real_acquire()
        sent_at.append(clock.now)

    rest.global_limiter.acquire = recording_acquire  # type: ignore[method-assign]
    await asyncio.gather(*(rest.request("GET", f"/channels/{i}/messages") for i in range(130)))
    assert len(app.requests) == 130 and len(sent_at) == 130
    sent_at.sort()
    for i in range(len(sent_at) - 50):
        assert sent_at[i + 50] - sent_at[i] >= 1.0  # any 51 requests span at least 1 s
    assert sent_at[-1] - sent_at[0] >= 2.0
    assert rest.global_limiter.waits >= 2


async def test_global_limit_on_the_wire_and_callbacks_exempt(
    stub: Stub, client: httpx.AsyncClient
) -> None:
    """Real clock, small limit (5 per 0.25 s): what the server sees respects it."""
    app, base = stub
    rest = DiscordRest(base, "t", client, global_limit=5, global_window=0.25)
    await asyncio.gather(*(rest.request("GET", f"/channels/{i}/messages") for i in range(15)))
    arrivals = sorted(r.at for r in app.requests)
    for i in range(len(arrivals) - 5):
        assert arrivals[i + 5] - arrivals[i] >= 0.25 - 0.05
    app.requests.clear()
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(
        *(rest.request("POST", f"/interactions/{i}/tok/callback", {"type": 5}) for i in range(40))
    )
    assert len(app.requests) == 40
    assert loop.time() - start < 0.25 * 40 / 5 / 2  # far quicker than the global pace
    await rest.aclose()


async def test_rate_limited_bucket_never_delays_another_route(
    stub: Stub, client: httpx.AsyncClient
) -> None:
    app, base = stub
    blocked = asyncio.Event()
    release = asyncio.Event()

    clock = FakeClock()

    async def blocking_sleep(seconds: float) -> None:
        blocked.set()
        await release.wait()
        await clock.sleep(seconds)

    rest = DiscordRest(base, "t", client, clocks=Clocks(monotonic=clock, sleep=blocking_sleep))
    app.script("POST", "/channels/1/messages", Reply(headers=limit_headers(0, 60.0)))
    await rest.request("POST", "/channels/1/messages", {})
    waiting = asyncio.create_task(rest.request("POST", "/channels/1/messages", {}))
    await asyncio.wait_for(blocked.wait(), 5)
    # the bucket is stuck for 60 s: callbacks, follow-ups and other channels go through
    await asyncio.wait_for(rest.request("POST", "/interactions/1/tok/callback", {"type": 5}), 2)
    await asyncio.wait_for(rest.request("POST", "/webhooks/1/tok", {"content": "x"}), 2)
    await asyncio.wait_for(rest.request("POST", "/channels/2/messages", {}), 2)
    assert not waiting.done()
    release.set()
    assert (await asyncio.wait_for(waiting, 5)).status_code == 200
    assert clock.sleeps == [60.0]
    await rest.aclose()
