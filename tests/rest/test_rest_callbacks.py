"""DiscordRest interaction callbacks: their own buckets and client (and pool), retries."""

from __future__ import annotations

import httpx
import pytest

from gateway.clock import Clocks
from gateway.rest.client import (
    DiscordRest,
)
from gateway.rest.ratelimit import BucketRegistry, route_for
from gateway.user_agent import USER_AGENT
from tests.rest.conftest import FakeClock
from tests.rest.rest_client import Stub, limit_headers, make
from tests.support.discord_rest import Reply
from tests.support.harness.server import free_port


async def test_per_interaction_buckets_do_not_pile_up(clock: FakeClock) -> None:
    registry = BucketRegistry(clock, clock.sleep)
    for i in range(5000):
        route = route_for("POST", f"/interactions/{i}/tok{i}/callback")
        await registry.acquire(route)
        registry.update(route, limit_headers(4, 1.0, "cb"))
        clock.now += 0.01
    assert len(registry) <= 1024  # only buckets of the last second or so are kept
    assert clock.sleeps == []


async def test_callbacks_go_on_their_own_keep_alive_pool_not_the_rest_client(
    stub: Stub, clock: FakeClock
) -> None:
    app, _ = stub

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the REST client used for {request.url.path}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as rest_client:
        rest = make(stub, rest_client, clock)
        assert rest.callbacks is not None
        for i in range(3):
            response = await rest.request("POST", f"/interactions/{i}/tok/callback", {"type": 5})
            assert response.status_code == 200 and response.is_success
        assert [r.path for r in app.requests] == [
            f"/api/v10/interactions/{i}/tok/callback" for i in range(3)
        ]
        assert app.requests[0].json == {"type": 5}
        assert app.requests[0].headers["user-agent"] == USER_AGENT
        # one kept-alive connection for all of them
        assert len({r.peer for r in app.requests}) == 1 and app.requests[0].peer
        with pytest.raises(AssertionError, match="the REST client used"):
            await rest.request("POST", "/channels/1/messages", {})
        await rest.aclose()


async def test_callback_429_and_5xx_are_handled_on_the_fast_path(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    app.script(
        "POST",
        "/interactions/5/tok/callback",
        Reply(429, {"retry_after": 1.5, "global": False}, {"X-RateLimit-Scope": "user"}),
        Reply(503),
    )
    rest = make(stub, client, clock)
    response = await rest.request("POST", "/interactions/5/tok/callback", {"type": 5})
    assert response.status_code == 200
    assert clock.sleeps == [1.5, 0.5]  # the 429's retry_after, then the 503's backoff
    assert rest.stats.rate_limited == 1 and rest.stats.retries == 1
    assert rest.invalid.count() == 1
    await rest.aclose()


async def test_callback_connection_errors_retried_then_raised(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    base = f"http://127.0.0.1:{free_port()}/api/v10"
    rest = DiscordRest(base, "t", client, clocks=Clocks(monotonic=clock, sleep=clock.sleep))
    with pytest.raises(httpx.ConnectError):
        await rest.request("POST", "/interactions/1/tok/callback", {"type": 5})
    assert rest.stats.connection_errors == 3
    await rest.aclose()


async def test_callbacks_on_the_rest_client_when_their_pool_is_turned_off(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    rest = make(stub, client, clock, callback_pool=False)
    assert rest.callbacks is None
    response = await rest.request("POST", "/interactions/1/tok/callback", {"type": 5})
    assert response.status_code == 200
    await rest.aclose()
