"""The one signed, retried sender of every delivery to the main app (CONTRACT "Round 3"): the
interaction forwards (gateway/interactions/forward.py), the league timers (gateway/timers/)
and the event batches (gateway/events/) all send through a `SignedSender`; it knows nothing of
any of them. Each has a sender of its own (its pool, its in-flight bound, its metrics), told
apart by the `RetryPolicy` and the `IdHeaders` it is built with.

Each attempt is a POST signed the same way (`signatures.signature_headers`:
X-Signature-Timestamp, X-Signature-SHA256 keyed with the first AUTH_TOKEN, X-Signature-Ed25519
with the forward key), with the delivery's id (X-Interaction-Id for a forward, X-Delivery-Id,
the same on every attempt, and X-Delivery-Attempt for events and timers) and a W3C
`traceparent`; no Authorization header unless FORWARD_LEGACY_AUTH. Its body is made per
attempt (a timer's `sent_at` is the attempt's time).

What is retried is the policy's (`RetryPolicy`):
- events and timers (`DELIVERY_POLICY`): connection errors, timeouts, 408, 429 (after its
  Retry-After when longer), 5xx, and an answer body over 1 MiB, 1 s doubling to 5 min,
  jittered (x0.5-1), until `give_up_after` (24 h), then the caller's dead letter; any other
  status (4xx) gives up at once;
- forwards (`FORWARD_POLICY`): connection errors, timeouts, 502/503/504 and an answer over
  1 MiB, at most 3 attempts within the budget the caller gives (60 s, or an autocomplete's
  few hundred ms).

At most `max_in_flight` attempts are open at once; a delivery waiting for its backoff holds no
slot; the attempts waiting for a slot are counted (`SenderStats.waiting`). The HTTP client is
a `Poster`: in the server `HttpPoster`, a client and pool of its own (gateway/rest/
http_client.py: httpx on aiohttp's pool) as large as the attempts in flight.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import httpx

from gateway.backoff import Jitter, backoff_delay
from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.delivery.signatures import signature_headers
from gateway.delivery.trace import HEADER as TRACEPARENT
from gateway.delivery.trace import trace_id_for, traceparent
from gateway.rest.http_client import AnswerTooLarge as AnswerTooLarge  # re-exported
from gateway.rest.http_client import ClientOptions, OriginClient
from gateway.rest.transport import RestResponse

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
    DEAD = "dead"  # given up: a dead letter for events and timers, a failed forward
    RETURNED = "returned"  # not delivered within the attempts the caller allowed; not given up


def retryable(status: int) -> bool:
    """The statuses a delivery of events or timers tries again: 408, 429 and 5xx."""
    return status in (408, 429) or status >= 500


def retryable_forward(status: int) -> bool:
    """The statuses a forward tries again: 502, 503, 504 (a 500 is the main app's bug)."""
    return status in (502, 503, 504)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed attempt is made again: the backoff (`base` doubling to `cap`, jittered
    x0.5-1), the statuses retried (errors always are), whether a 429/503's Retry-After is
    waited for, and when to give up: `give_up_after` s after the first attempt (a call may give
    a shorter budget) or after `max_attempts`."""

    base: float = RETRY_BASE
    cap: float = RETRY_CAP
    give_up_after: float = GIVE_UP_AFTER
    max_attempts: int | None = None
    retry_status: Callable[[int], bool] = retryable
    honour_retry_after: bool = True

    def backoff(self, attempt: int, clocks: Clocks) -> float:
        return backoff_delay(attempt, self.base, self.cap, Jitter.HALF, clocks.random)


DELIVERY_POLICY = RetryPolicy()
FORWARD_POLICY = RetryPolicy(
    give_up_after=60.0, max_attempts=3, retry_status=retryable_forward, honour_retry_after=False
)


@dataclass(frozen=True, slots=True)
class IdHeaders:
    """The headers naming a delivery (the same on every attempt) and its attempt (None: not
    sent)."""

    id: str = "X-Delivery-Id"
    attempt: str | None = "X-Delivery-Attempt"


DELIVERY_HEADERS = IdHeaders()
FORWARD_HEADERS = IdHeaders("X-Interaction-Id", None)


class Poster(Protocol):
    """Sends one attempt: its whole answer within `answer_within` s (the connect included),
    else TimeoutError or an httpx.TimeoutException (`OriginClient.request` bounds it so)."""

    async def post(
        self, url: str, headers: Mapping[str, str], body: bytes, answer_within: float
    ) -> RestResponse: ...

    async def aclose(self) -> None: ...


class HttpPoster:
    """POST to URLs under its client's base URL on that client and pool (`OriginClient`):
    `HttpPoster.open(base_url, ...)` opens one of its own, at most `max_connections` at once,
    an answer body over `max_answer_bytes` AnswerTooLarge (a failed attempt), read no further."""

    def __init__(self, client: OriginClient) -> None:
        self.client = client
        self._base = client.base_url

    @classmethod
    def open(
        cls,
        base_url: str,
        *,
        max_connections: int = MAX_IN_FLIGHT,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> HttpPoster:
        return cls(
            OriginClient.open(
                base_url.rstrip("/"),
                ClientOptions(max_connections=max_connections),
                max_answer_bytes=max_answer_bytes,
            )
        )

    def __repr__(self) -> str:
        return f"HttpPoster({self.client!r})"

    async def post(
        self, url: str, headers: Mapping[str, str], body: bytes, answer_within: float
    ) -> RestResponse:
        if not url.startswith(self._base):
            raise ValueError("the URL is not under this poster's base URL")
        return await self.client.request(
            "POST", url[len(self._base) :], headers, body, answer_within=answer_within
        )

    async def aclose(self) -> None:
        await self.client.aclose()


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


@dataclass
class Report:
    """How one delivery ended: its outcome, the attempts made, the last answer (None when the
    last attempt got none: `problem` names the error) and when the first and last attempts
    were made (unix seconds)."""

    outcome: Outcome
    attempts: int
    answer: RestResponse | None
    problem: str | None
    first_at: float
    last_at: float

    @property
    def status(self) -> int | None:
        return None if self.answer is None else self.answer.status


@dataclass
class SenderStats:
    attempts: int = 0
    retries: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    waiting: int = 0  # attempts waiting for an in-flight slot
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
        policy: RetryPolicy = DELIVERY_POLICY,
        id_headers: IdHeaders = DELIVERY_HEADERS,
        clocks: Clocks = SYSTEM_CLOCKS,
        stats: SenderStats | None = None,
    ) -> None:
        self.poster = poster
        self._auth_token = auth_token
        self._signers = tuple(signers)
        self._legacy_auth = legacy_auth
        self._timeout = timeout
        self._slots = asyncio.Semaphore(max_in_flight)
        self.policy = policy
        self._ids = id_headers
        self._clocks = clocks
        self.stats = stats if stats is not None else SenderStats()

    def __repr__(self) -> str:  # never the token
        return f"SignedSender({self.poster!r})"

    def headers(
        self, body: bytes, delivery_id: str, attempt: int, extra: Mapping[str, str]
    ) -> dict[str, str]:
        """An attempt's headers, signed now."""
        timestamp = str(int(self._clocks.wall()))
        ids = self._ids
        headers = {"Content-Type": "application/json", **extra, ids.id: delivery_id}
        if ids.attempt is not None:
            headers[ids.attempt] = str(attempt)
        # W3C Trace Context: one trace per delivery (its id), a parent id per attempt.
        headers[TRACEPARENT] = traceparent(trace_id_for(delivery_id))
        headers.update(signature_headers(self._auth_token, timestamp, body, self._signers))
        if self._legacy_auth:
            headers["Authorization"] = self._auth_token
        return headers

    def backoff(self, attempt: int) -> float:
        return self.policy.backoff(attempt, self._clocks)

    async def deliver(
        self,
        url: str,
        delivery_id: str,
        body_at: Callable[[float], bytes],
        extra_headers: Mapping[str, str] | None = None,
    ) -> Outcome:
        """Attempts until a 2xx (DELIVERED) or the policy gives up (DEAD). `body_at(now)`: the
        body of an attempt made at `now` (unix seconds)."""
        return (await self.send(url, delivery_id, body_at, extra_headers)).outcome

    async def send(
        self,
        url: str,
        delivery_id: str,
        body_at: Callable[[float], bytes],
        extra_headers: Mapping[str, str] | None = None,
        *,
        since: float | None = None,
        budget: float | None = None,
        label: str | None = None,
        attempts: int | None = None,
    ) -> Report:
        """`deliver`, reporting the attempts and the last answer. `since` (unix seconds): when
        the retry clock started (a delivery carried over a restart keeps its age); default
        now. `budget`: seconds from now after which no attempt starts or runs (default the
        policy's `give_up_after`, less the age). `label`: what the log lines call it.
        `attempts`: after that many failed attempts (whatever failed, a 4xx too) the delivery
        is handed back, RETURNED, for the caller to send otherwise (the events' shared POSTs)."""
        clocks, policy, stats = self._clocks, self.policy, self.stats
        first = clocks.wall()
        age = 0.0 if since is None else max(0.0, first - since)
        deadline = clocks.monotonic() + (policy.give_up_after - age if budget is None else budget)
        extra = extra_headers or {}
        attempt = 0
        while True:
            attempt += 1
            problem, wait, answer = await self._attempt(
                url, delivery_id, attempt, body_at, extra, deadline
            )
            last = clocks.wall()
            if problem is None:
                stats.count(Outcome.DELIVERED)
                return Report(Outcome.DELIVERED, attempt, answer, None, first, last)
            if attempts is not None and attempt >= attempts:
                stats.count(Outcome.RETURNED)
                return Report(Outcome.RETURNED, attempt, answer, problem, first, last)
            delay = max(policy.backoff(attempt, clocks), wait)
            if (
                wait < 0
                or (policy.max_attempts is not None and attempt >= policy.max_attempts)
                or clocks.monotonic() + delay >= deadline - 0.001
            ):
                log.warning(
                    "%s failed (%s, attempt %d)",
                    label or f"delivery {delivery_id}",
                    problem,
                    attempt,
                )
                stats.count(Outcome.DEAD)
                return Report(Outcome.DEAD, attempt, answer, problem, first, last)
            stats.retries += 1
            log.info("%s %s, retry in %.2f s", label or f"delivery {delivery_id}", problem, delay)
            await clocks.sleep(delay)

    async def _attempt(
        self,
        url: str,
        delivery_id: str,
        attempt: int,
        body_at: Callable[[float], bytes],
        extra: Mapping[str, str],
        deadline: float,
    ) -> tuple[str | None, float, RestResponse | None]:
        """(None, 0, answer) on a 2xx; else (what went wrong, seconds to wait at least (-1: no
        retry), the answer or None)."""
        stats, clocks = self.stats, self._clocks
        slots = self._slots
        if slots.locked():
            stats.waiting += 1
            try:
                await slots.acquire()
            finally:
                stats.waiting -= 1
        else:
            await slots.acquire()
        stats.in_flight += 1
        stats.attempts += 1
        try:
            timeout = max(0.001, min(self._timeout, deadline - clocks.monotonic()))
            body = body_at(clocks.wall())
            headers = self.headers(body, delivery_id, attempt, extra)
            answer = await self.poster.post(url, headers, body, timeout)
        except (httpx.HTTPError, TimeoutError, OSError) as exc:  # errors, timeouts, garbage
            stats.statuses["error"] = stats.statuses.get("error", 0) + 1
            return type(exc).__name__, 0.0, None
        finally:
            stats.in_flight -= 1
            slots.release()
        status = answer.status
        family = f"{status // 100}xx"
        stats.statuses[family] = stats.statuses.get(family, 0) + 1
        if 200 <= status < 300:
            return None, 0.0, answer
        if not self.policy.retry_status(status):
            return f"status {status}", -1.0, answer
        wait = 0.0
        if status in (429, 503) and self.policy.honour_retry_after:
            wait = retry_after_seconds(answer.headers.get("retry-after"), clocks.wall())
        return f"status {status}", wait, answer
