"""The signed, retried sender: signatures a main app can verify, the same X-Delivery-Id on
every attempt, what is retried and how long it waits, a body over 1 MiB, no Authorization."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from gateway.clock import Clocks
from gateway.delivery.sender import (
    HttpPoster,
    Outcome,
    RetryPolicy,
    SignedSender,
    retry_after_seconds,
)
from gateway.delivery.signatures import (
    Ed25519Signer,
    load_public_key,
    verify_ed25519,
    verify_signature,
)
from gateway.rest.transport import RestResponse
from tests.support.harness.server import read_request, serve

TOKENS = "first-token-0123456789abcdef0123456789"


def answer(status: int, retry_after: str | None = None) -> RestResponse:
    return RestResponse(status, {} if retry_after is None else {"retry-after": retry_after}, b"")


@dataclass
class ScriptedPoster:
    """Answers with the scripted statuses (an exception instance is raised)."""

    script: list[Any]
    seen: list[dict[str, str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    async def post(
        self, url: str, headers: Mapping[str, str], body: bytes, answer_within: float
    ) -> RestResponse:
        self.seen.append(dict(headers))
        self.bodies.append(body)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step if isinstance(step, RestResponse) else answer(step)

    async def aclose(self) -> None:
        return None


def sender(poster: Any, sleeps: list[float], **options: Any) -> SignedSender:
    """A sender whose sleeps are recorded and move its clock."""
    now = [1_900_000_000.0]

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    clocks = Clocks(monotonic=lambda: now[0], wall=lambda: now[0], sleep=sleep, random=lambda: 1.0)
    return SignedSender(poster, TOKENS, clocks=clocks, **options)


async def test_retried_until_2xx_with_the_same_delivery_id_and_growing_backoff() -> None:
    sleeps: list[float] = []
    poster = ScriptedPoster([httpx.ConnectError("refused"), 503, 408, 500, 204])
    outcome = await sender(poster, sleeps).deliver("http://main/timers", "d1", lambda now: b"{}")
    assert outcome is Outcome.DELIVERED
    assert [h["X-Delivery-Id"] for h in poster.seen] == ["d1"] * 5
    assert [h["X-Delivery-Attempt"] for h in poster.seen] == ["1", "2", "3", "4", "5"]
    assert sleeps == [1.0, 2.0, 4.0, 8.0]


async def test_429_waits_its_retry_after_and_a_4xx_is_a_dead_letter_at_once() -> None:
    sleeps: list[float] = []
    poster = ScriptedPoster([answer(429, "30"), 404])
    outcome = await sender(poster, sleeps).deliver("http://main/timers", "d2", lambda now: b"{}")
    assert outcome is Outcome.DEAD
    assert sleeps == [30.0]
    assert len(poster.seen) == 2


async def test_gives_up_after_its_budget() -> None:
    sleeps: list[float] = []
    poster = ScriptedPoster([503] * 20)
    s = sender(poster, sleeps, policy=RetryPolicy(give_up_after=60.0, cap=300.0))
    assert await s.deliver("http://main/timers", "d3", lambda now: b"{}") is Outcome.DEAD
    assert sum(sleeps) <= 60.0
    assert s.stats.outcomes == {"dead": 1}


def test_retry_after_as_seconds_or_a_date() -> None:
    assert retry_after_seconds("12", 0.0) == 12.0
    assert retry_after_seconds("Thu, 01 Jan 1970 00:01:40 GMT", 40.0) == 60.0
    assert retry_after_seconds("soon", 0.0) == 0.0
    assert retry_after_seconds(None, 0.0) == 0.0


@pytest.mark.parametrize("legacy", [False, True])
async def test_signed_like_a_forward_over_real_http(legacy: bool) -> None:
    seen: list[tuple[bytes, dict[str, str]]] = []

    async def main_app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        seen.append(await read_request(scope, receive))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    signer = Ed25519Signer()
    async with serve(main_app) as url:
        poster = HttpPoster.open(url)
        s = SignedSender(poster, TOKENS, signers=(signer,), legacy_auth=legacy)
        outcome = await s.deliver(f"{url}/t", "d4", lambda now: b'{"a":1}', {"X-Timer-Id": "t"})
    await poster.aclose()
    assert outcome is Outcome.DELIVERED
    [(body, headers)] = seen
    stamp = headers["x-signature-timestamp"]
    assert verify_signature(TOKENS, stamp, body, headers["x-signature-sha256"])
    public = load_public_key(signer.public_key)  # as the main app reads it
    assert verify_ed25519(public, stamp, body, headers["x-signature-ed25519"])
    assert headers["x-timer-id"] == "t" and headers["content-type"] == "application/json"
    assert ("authorization" in headers) is legacy
    if legacy:
        assert headers["authorization"] == TOKENS


async def test_an_answer_over_1_mib_is_a_failed_attempt() -> None:
    sizes = [2 << 20, 10]

    async def main_app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await read_request(scope, receive)
        size = sizes.pop(0)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(max(1, size // 65536)):  # streamed: no Content-Length to trust
            await send(
                {"type": "http.response.body", "body": b"x" * min(size, 65536), "more_body": True}
            )
        await send({"type": "http.response.body", "body": b""})

    sleeps: list[float] = []
    async with serve(main_app) as url:
        poster = HttpPoster.open(url)
        s = sender(poster, sleeps)
        outcome = await s.deliver(f"{url}/t", "d5", lambda now: b"{}")
    await poster.aclose()
    assert outcome is Outcome.DELIVERED
    assert sleeps == [1.0]  # the first answer was too large: one retry
    assert s.stats.statuses == {"error": 1, "2xx": 1}
