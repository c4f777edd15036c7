"""DiscordRest on server errors, connection errors, 401s, the invalid-request budget and
max_wait, with a fake clock for exact waits (the 401 rule itself: test_token_rule.py)."""

from __future__ import annotations

import httpx
import pytest

from gateway.clock import Clocks
from gateway.rest.client import (
    INVALID_SOFT_LIMIT,
    DiscordRest,
    InvalidRequestBudget,
    RateLimitWait,
)
from gateway.rest.ratelimit import route_for
from tests.rest.conftest import FakeClock
from tests.rest.rest_client import Stub, limit_headers, make
from tests.support.discord_rest import Reply
from tests.support.harness.server import free_port


@pytest.mark.parametrize(
    ("statuses", "requests", "final", "sleeps"),
    [
        ([502, 503], 3, 200, [0.5, 1.0]),
        ([504, 504, 504], 3, 504, [0.5, 1.0]),
        ([500, 500], 2, 500, [0.5]),
        ([500], 2, 200, [0.5]),
        ([400], 1, 400, []),
    ],
)
async def test_server_errors_retried_with_backoff(
    stub: Stub,
    client: httpx.AsyncClient,
    clock: FakeClock,
    statuses: list[int],
    requests: int,
    final: int,
    sleeps: list[float],
) -> None:
    app, _ = stub
    app.script("GET", "/guilds/1$", *(Reply(s) for s in statuses))
    rest = make(stub, client, clock)
    response = await rest.request("GET", "/guilds/1")
    assert response.status_code == final
    assert len(app.requests) == requests
    assert clock.sleeps == sleeps


async def test_connection_errors_retried_then_raised(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    base = f"http://127.0.0.1:{free_port()}/api/v10"  # nothing listens there
    rest = DiscordRest(base, "t", client, clocks=Clocks(monotonic=clock, sleep=clock.sleep))
    with pytest.raises(httpx.ConnectError):
        await rest.request("GET", "/gateway/bot")
    assert rest.stats.connection_errors == 3
    assert clock.sleeps == [0.5, 1.0]
    assert not rest.failed


async def test_401_on_a_token_route_is_not_a_bad_bot_token(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    app.script("PATCH", "/webhooks/", Reply(401, {"message": "Invalid Webhook Token"}))
    rest = make(stub, client, clock)
    response = await rest.request("PATCH", "/webhooks/1/tok/messages/@original", {"content": "x"})
    assert response.status_code == 401
    assert not rest.failed
    assert rest.invalid.count() == 1


async def test_invalid_request_budget_refuses_non_essential_first(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    rest = make(stub, client, clock)
    for _ in range(INVALID_SOFT_LIMIT):
        rest.invalid.add()
    with pytest.raises(InvalidRequestBudget):
        await rest.request("POST", "/channels/1/messages", {})
    # acknowledgements and messages to users still go
    await rest.request("POST", "/interactions/1/tok/callback", {"type": 5})
    await rest.request("GET", "/guilds/1", essential=True)
    assert len(app.requests) == 2
    clock.now += 601  # ten minutes later the budget is back
    await rest.request("POST", "/channels/1/messages", {})
    assert len(app.requests) == 3
    await rest.aclose()


async def test_max_wait_refuses_a_longer_bucket_or_global_wait_without_sending(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    app.script("POST", "/channels/1/messages", Reply(headers=limit_headers(0, 12.0, "hash1")))
    rest = make(stub, client, clock)
    await rest.request("POST", "/channels/1/messages", {})
    with pytest.raises(RateLimitWait) as refused:
        await rest.request("POST", "/channels/1/messages", {}, max_wait=10)
    assert refused.value.retry_after == pytest.approx(12.0) and not refused.value.is_global
    assert refused.value.headers["Retry-After"] == "12"
    assert refused.value.headers["X-RateLimit-Bucket"] == "hash1"
    assert refused.value.headers["X-RateLimit-Remaining"] == "0"
    assert refused.value.headers["X-RateLimit-Limit"] == "5"
    assert len(app.requests) == 1 and clock.sleeps == []
    # within the max wait: it waits as usual
    await rest.request("POST", "/channels/1/messages", {}, max_wait=15)
    assert clock.sleeps == [12.0]
    rest.global_limiter.pause(20.0)
    with pytest.raises(RateLimitWait) as paused:
        await rest.request("GET", "/guilds/1", max_wait=10)
    assert paused.value.is_global and paused.value.headers["X-RateLimit-Global"] == "true"
    assert paused.value.headers["Retry-After"] == "20"


async def test_a_429_asking_more_than_max_wait_is_given_back(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    app.script("POST", "/channels/1/messages", Reply(429, {"retry_after": 11.0, "global": False}))
    rest = make(stub, client, clock)
    response = await rest.request("POST", "/channels/1/messages", {}, max_wait=10)
    assert response.status == 429 and response.json()["retry_after"] == 11.0
    assert len(app.requests) == 1 and clock.sleeps == []
    assert rest.invalid.count() == 1 and rest.buckets.delay(
        route_for("POST", "/channels/1/messages")
    ) == pytest.approx(11.0)


async def test_the_budget_refusal_says_when_it_has_room_again(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    rest = make(stub, client, clock)
    for _ in range(INVALID_SOFT_LIMIT):
        rest.invalid.add()
    clock.now += 100
    with pytest.raises(InvalidRequestBudget) as refused:
        await rest.request("POST", "/channels/1/messages", {})
    assert refused.value.retry_after == pytest.approx(500.0, abs=1.0)
