"""DiscordRest against a loopback Discord stand-in, with a fake clock for exact waits."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bench.harness.server import free_port
from gateway.rest.client import (
    INVALID_SOFT_LIMIT,
    DiscordAuthFailed,
    DiscordRest,
    InvalidRequestBudget,
    RateLimitWait,
)
from gateway.rest.ratelimit import BucketRegistry, route_for
from gateway.user_agent import USER_AGENT
from tests.rest.conftest import FakeClock
from tests.support.discord_rest import DiscordStub, Reply

Stub = tuple[DiscordStub, str]


def make(stub: Stub, client: httpx.AsyncClient, clock: FakeClock, **kw: object) -> DiscordRest:
    return DiscordRest(stub[1], "bot-token", client, clock=clock, sleep=clock.sleep, **kw)  # type: ignore[arg-type]


def limit_headers(
    remaining: int, reset_after: float, bucket: str = "abc", limit: int = 5
) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset-After": str(reset_after),
        "X-RateLimit-Bucket": bucket,
    }


async def test_every_call_carries_bot_auth_user_agent_and_json(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    rest = make(stub, client, clock)
    response = await rest.request("POST", "/channels/1/messages", {"content": "hi"}, reason="a b/é")
    assert response.status_code == 200
    (req,) = app.requests
    assert req.path == "/api/v10/channels/1/messages"
    assert req.headers["authorization"] == "Bot bot-token"
    assert req.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("DiscordBot (https://") and USER_AGENT.endswith(", 0.1.0)")
    assert req.headers["content-type"] == "application/json"
    assert req.headers["x-audit-log-reason"] == "a b%2F%C3%A9"
    assert req.json == {"content": "hi"}
    assert "bot-token" not in repr(rest)


async def test_get_gateway_bot(stub: Stub, client: httpx.AsyncClient, clock: FakeClock) -> None:
    app, _ = stub
    body = {"url": "wss://x", "shards": 2, "session_start_limit": {"remaining": 5}}
    app.script("GET", "/gateway/bot$", Reply(json=body))
    assert await make(stub, client, clock).get_gateway_bot() == body


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

    rest = DiscordRest(base, "t", client, clock=clock, sleep=blocking_sleep)
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
    rest = DiscordRest(base, "t", client, clock=clock, sleep=clock.sleep)
    with pytest.raises(httpx.ConnectError):
        await rest.request("GET", "/gateway/bot")
    assert rest.stats.connection_errors == 3
    assert clock.sleeps == [0.5, 1.0]
    assert not rest.failed


async def test_401_marks_failed_and_stops_everything(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = stub
    app.script("GET", "/gateway/bot", Reply(401, {"message": "401: Unauthorized", "code": 0}))
    rest = make(stub, client, clock)
    with pytest.raises(DiscordAuthFailed):
        await rest.request("GET", "/gateway/bot")
    assert rest.failed and rest.failure_reason == "invalid token"
    for method, path in [("GET", "/gateway/bot"), ("POST", "/interactions/1/t/callback")]:
        with pytest.raises(DiscordAuthFailed):
            await rest.request(method, path, {})
    assert len(app.requests) == 1  # nothing else went out
    assert rest.invalid.count() == 1


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


async def test_per_interaction_buckets_do_not_pile_up(clock: FakeClock) -> None:
    registry = BucketRegistry(clock, clock.sleep)
    for i in range(5000):
        route = route_for("POST", f"/interactions/{i}/tok{i}/callback")
        await registry.acquire(route)
        registry.update(route, limit_headers(4, 1.0, "cb"))
        clock.now += 0.01
    assert len(registry) <= 1024  # only buckets of the last second or so are kept
    assert clock.sleeps == []


async def test_callbacks_go_on_their_own_keep_alive_pool_not_httpx(
    stub: Stub, clock: FakeClock
) -> None:
    app, _ = stub

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"httpx used for {request.url.path}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as no_httpx:
        rest = make(stub, no_httpx, clock)
        assert rest.callbacks is not None
        for i in range(3):
            response = await rest.request("POST", f"/interactions/{i}/tok/callback", {"type": 5})
            assert response.status_code == 200 and response.is_success
        assert [r.path for r in app.requests] == [
            f"/api/v10/interactions/{i}/tok/callback" for i in range(3)
        ]
        assert app.requests[0].json == {"type": 5}
        assert app.requests[0].headers["user-agent"] == USER_AGENT
        assert rest.callbacks.connects == 1  # one warm connection for all of them
        with pytest.raises(AssertionError, match="httpx used"):
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
    rest = DiscordRest(base, "t", client, clock=clock, sleep=clock.sleep)
    with pytest.raises(httpx.ConnectError):
        await rest.request("POST", "/interactions/1/tok/callback", {"type": 5})
    assert rest.stats.connection_errors == 3


async def test_callbacks_on_httpx_when_the_pool_is_turned_off(
    stub: Stub, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    rest = make(stub, client, clock, callback_pool=False)
    assert rest.callbacks is None
    response = await rest.request("POST", "/interactions/1/tok/callback", {"type": 5})
    assert response.status_code == 200
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
