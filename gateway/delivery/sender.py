"""The one signed, retried sender of deliveries to the main app (CONTRACT "Round 3"): league
timers (gateway/timers/) and event batches (gateway/events/) both send through it; it knows
nothing of either.

Each attempt is a POST signed exactly like a forward (`signatures.signature_headers`:
X-Signature-Timestamp, X-Signature-SHA256 keyed with the first AUTH_TOKEN, X-Signature-Ed25519
with the forward key), with X-Delivery-Id (the same on every attempt) and X-Delivery-Attempt;
no Authorization header unless FORWARD_LEGACY_AUTH. Its body is made per attempt (a timer's
`sent_at` is the attempt's time).

- 2xx: delivered.
- Connection errors, timeouts, 408, 429 (after its Retry-After when longer), 5xx, and an
  answer body over 1 MiB: retried, 1 s doubling to 5 min, jittered (x0.5-1), until
  `give_up_after` (24 h), then a dead letter.
- Any other status (4xx): a dead letter at once.

At most `max_in_flight` attempts are open at once; a delivery waiting for its backoff holds no
slot. The HTTP client is a `Poster`: in the server `HttpPoster`, a client and pool of its own
(gateway/rest/http_client.py: httpx on aiohttp's pool, as the forwards use) as large as the
attempts in flight. httpx on its own pool (httpcore) measured 3-10 ms of CPU per delivery in
bench/timers_bench.py, its work per request growing with the requests queued and the
connections open (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import httpx

from gateway.backoff import Jitter, backoff_delay
from gateway.clock import Sleep
from gateway.interactions.signatures import signature_headers
from gateway.interactions.trace import HEADER as TRACEPARENT
from gateway.interactions.trace import trace_id_for, traceparent
from gateway.rest.http_client import AnswerTooLarge as AnswerTooLarge  # re-exported
from gateway.rest.http_client import OriginClient

log = logging.getLogger("gateway.delivery")

#: An answer body longer than this is a failed attempt (CONTRACT "Bodies"), read no further.
MAX_ANSWER_BYTES = 1 << 20
RETRY_BASE = 1.0
RETRY_CAP = 300.0
GIVE_UP_AFTER = 24 * 3600.0
#: The longest Retry-After honoured (a longer one is read as this).
MAX_RETRY_AFTER = 3600.0
MAX_IN_FLIGHT = 100

Signer = Callable[[str, bytes], Mapping[str, str]]


class Outcome(StrEnum):
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: str | None = None


class Poster(Protocol):
    async def post(
        self, url: str, headers: Mapping[str, str], body: bytes, answer_within: float
    ) -> Answer: ...

    async def aclose(self) -> None: ...


class HttpPoster:
    """POST to URLs under `base_url` on a client and pool of its own (`OriginClient`), at most
    `max_connections` at once; an answer body over `max_answer_bytes` is AnswerTooLarge (a
    failed attempt), read no further."""

    def __init__(
        self,
        base_url: str,
        *,
        max_connections: int = MAX_IN_FLIGHT,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._client = OriginClient.open(
            self._base, max_connections=max_connections, max_answer_bytes=max_answer_bytes
        )

    def __repr__(self) -> str:
        return f"HttpPoster({self._client!r})"

    async def post(
        self, url: str, headers: Mapping[str, str], body: bytes, answer_within: float
    ) -> Answer:
        if not url.startswith(self._base):
            raise ValueError("the URL is not under this poster's base URL")
        path = url[len(self._base) :]
        response = await self._client.request(
            "POST", path, headers, body, answer_within=answer_within
        )
        return Answer(response.status, response.headers.get("retry-after"))

    async def aclose(self) -> None:
        await self._client.aclose()


def retry_after_seconds(value: str | None, now: float) -> float:
    """Retry-After as seconds from `now` (delta-seconds or an HTTP date); 0 when absent."""
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return 0.0
    return min(max(0.0, when - now), MAX_RETRY_AFTER)


def retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


@dataclass
class Report:
    """How one delivery ended: its outcome, the attempts made, the last answer's status (None
    when the last attempt got no answer: `problem` names the error) and when the first and
    last attempts were made (unix seconds)."""

    outcome: Outcome
    attempts: int
    status: int | None
    problem: str | None
    first_at: float
    last_at: float


@dataclass
class SenderStats:
    attempts: int = 0
    retries: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    statuses: dict[str, int] = field(default_factory=dict)  # "2xx", "5xx", "error"...

    def count(self, outcome: Outcome) -> None:
        self.outcomes[outcome.value] = self.outcomes.get(outcome.value, 0) + 1


class SignedSender:
    def __init__(
        self,
        poster: Poster,
        auth_token: str,
        *,
        signers: Iterable[Signer] = (),
        legacy_auth: bool = False,
        timeout: float = 10.0,
        max_in_flight: int = MAX_IN_FLIGHT,
        wall_clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        retry_base: float = RETRY_BASE,
        retry_cap: float = RETRY_CAP,
        give_up_after: float = GIVE_UP_AFTER,
    ) -> None:
        self.poster = poster
        self._auth_token = auth_token
        self._signers = tuple(signers)
        self._legacy_auth = legacy_auth
        self._timeout = timeout
        self._slots = asyncio.Semaphore(max_in_flight)
        self._wall = wall_clock
        self._sleep = sleep
        self._rng = rng
        self._base = retry_base
        self._cap = retry_cap
        self._give_up_after = give_up_after
        self.stats = SenderStats()

    def __repr__(self) -> str:  # never the token
        return f"SignedSender({self.poster!r})"

    def headers(
        self, body: bytes, delivery_id: str, attempt: int, extra: Mapping[str, str]
    ) -> dict[str, str]:
        """An attempt's headers, signed now."""
        timestamp = str(int(self._wall()))
        headers = {
            "Content-Type": "application/json",
            **extra,
            "X-Delivery-Id": delivery_id,
            "X-Delivery-Attempt": str(attempt),
            # W3C Trace Context: one trace per delivery (its id), a parent id per attempt.
            TRACEPARENT: traceparent(trace_id_for(delivery_id)),
            **signature_headers(self._auth_token, timestamp, body, self._signers),
        }
        if self._legacy_auth:
            headers["Authorization"] = self._auth_token
        return headers

    def backoff(self, attempt: int) -> float:
        return backoff_delay(attempt, self._base, self._cap, Jitter.HALF, self._rng)

    async def deliver(
        self,
        url: str,
        delivery_id: str,
        body_at: Callable[[float], bytes],
        extra_headers: Mapping[str, str] | None = None,
    ) -> Outcome:
        """Attempts until a 2xx (DELIVERED) or a dead letter (DEAD). `body_at(now)`: the body
        of an attempt made at `now` (unix seconds)."""
        return (await self.send(url, delivery_id, body_at, extra_headers)).outcome

    async def send(
        self,
        url: str,
        delivery_id: str,
        body_at: Callable[[float], bytes],
        extra_headers: Mapping[str, str] | None = None,
        *,
        since: float | None = None,
    ) -> Report:
        """`deliver`, reporting the attempts. `since` (unix seconds): when the retry clock
        started (a delivery carried over a restart keeps its age); default now."""
        stats = self.stats
        first = self._wall()
        started = first if since is None else min(since, first)
        attempt = 0
        while True:
            attempt += 1
            problem, wait, status = await self._attempt(
                url, delivery_id, attempt, body_at, extra_headers or {}
            )
            last = self._wall()
            if problem is None:
                stats.count(Outcome.DELIVERED)
                return Report(Outcome.DELIVERED, attempt, status, None, first, last)
            delay = max(self.backoff(attempt), wait)
            if wait < 0 or last + delay - started > self._give_up_after:
                log.warning(
                    "delivery %s: dead letter after %d attempts (%s)",
                    delivery_id,
                    attempt,
                    problem,
                )
                stats.count(Outcome.DEAD)
                return Report(Outcome.DEAD, attempt, status, problem, first, last)
            stats.retries += 1
            log.info("delivery %s: %s, retry in %.2f s", delivery_id, problem, delay)
            await self._sleep(delay)

    async def _attempt(
        self,
        url: str,
        delivery_id: str,
        attempt: int,
        body_at: Callable[[float], bytes],
        extra: Mapping[str, str],
    ) -> tuple[str | None, float, int | None]:
        """(None, 0, status) on a 2xx; else (what went wrong, seconds to wait at least (-1: no
        retry), the status or None)."""
        stats = self.stats
        async with self._slots:
            stats.in_flight += 1
            stats.attempts += 1
            try:
                body = body_at(self._wall())
                headers = self.headers(body, delivery_id, attempt, extra)
                async with asyncio.timeout(self._timeout):  # the whole attempt
                    answer = await self.poster.post(url, headers, body, self._timeout)
            except (httpx.HTTPError, TimeoutError, OSError) as exc:
                stats.statuses["error"] = stats.statuses.get("error", 0) + 1
                return type(exc).__name__, 0.0, None
            finally:
                stats.in_flight -= 1
        family = f"{answer.status // 100}xx"
        stats.statuses[family] = stats.statuses.get(family, 0) + 1
        if 200 <= answer.status < 300:
            return None, 0.0, answer.status
        if not retryable(answer.status):
            return f"status {answer.status}", -1.0, answer.status
        wait = 0.0
        if answer.status in (429, 503):
            wait = retry_after_seconds(answer.retry_after, self._wall())
        return f"status {answer.status}", wait, answer.status
