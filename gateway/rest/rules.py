"""The rules DiscordRest applies to each request, one named piece each.

A request (`Call`) goes through them in this order (gateway/rest/client.py, `request`):

1. `InvalidBudget.check`: refused locally close to Discord's ban at 10,000 invalid requests.
2. `Pacing.admit`: its bucket's wait, then the global limit (not for token routes), bounded
   by the call's `max_wait` (`RateLimitWait` instead of a longer wait).
3. the transport; `Retries.after_error` decides on connection errors.
4. `InvalidBudget.count` and `RateLimits.after_429` / `Retries.after_status` on the answer.

The shape follows @discordjs/rest (a bucket handler that waits, sends, and judges the answer,
with the shared "invalid request" and "429" logic beside it).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import orjson

from gateway.backoff import backoff_delay
from gateway.clock import Clock
from gateway.rest.errors import InvalidRequestBudget, RateLimitWait
from gateway.rest.ratelimit import (
    BucketRegistry,
    GlobalLimiter,
    InvalidRequestCounter,
    Route,
)
from gateway.rest.stats import RestStats
from gateway.rest.transport import Body, RestResponse, Transport

log = logging.getLogger("gateway.rest")

RETRY_STATUSES = {500: 2, 502: 3, 503: 3, 504: 3}  # status -> max attempts
CONNECTION_ATTEMPTS = 3
MAX_429_RETRIES = 5
#: Refuse non-essential requests from this many invalid requests per 10 min, all at the hard cap.
INVALID_SOFT_LIMIT = 8_000
INVALID_HARD_LIMIT = 9_500


@dataclass(slots=True)
class Call:
    """One request on its way: what to send, where, and how far it got."""

    method: str
    path: str
    route: Route
    headers: Mapping[str, str]
    content: Body | None
    transport: Transport
    essential: bool
    bot_auth: bool  # sent with the bot token (a 401 may mean the token is bad: checked)
    # Whose call: the server's own (a 401 is checked with GET /users/@me), the main app's
    # through the REST proxy (a 401 is the caller's), or that check itself.
    owner: Literal["server", "proxy", "check"] = "server"
    deadline: float | None = None  # clock time after which no limit is waited for
    attempts: int = 0  # sends that counted as attempts (429s do not)
    limited: int = 0  # 429s met


class InvalidBudget:
    """Discord bans an IP at 10,000 401/403/429 answers in 10 minutes: count them, and refuse
    non-essential requests from the soft limit, everything from the hard limit."""

    def __init__(self, counter: InvalidRequestCounter, stats: RestStats) -> None:
        self.counter = counter
        self._stats = stats

    def check(self, essential: bool) -> None:
        count = self.counter.count()
        limit = INVALID_SOFT_LIMIT if not essential else INVALID_HARD_LIMIT
        if count >= limit:
            self._stats.refused += 1
            raise InvalidRequestBudget(
                f"{count} invalid requests in the last 10 minutes",
                self.counter.seconds_until_below(limit),
            )

    def count(self, response: RestResponse) -> None:
        """401, 403 and 429 are invalid, except a 429 of the shared scope (not our fault)."""
        status = response.status
        if status in (401, 403) or (
            status == 429 and response.headers.get("x-ratelimit-scope") != "shared"
        ):
            self.counter.add()


class Pacing:
    """The waits before a send: the route's bucket, then the global limit."""

    def __init__(
        self, buckets: BucketRegistry, global_limiter: GlobalLimiter, clock: Clock
    ) -> None:
        self.buckets = buckets
        self.global_limiter = global_limiter
        self._clock = clock

    def delay(self, route: Route) -> tuple[float, bool]:
        """(seconds a request of `route` would wait now, whether the global limit decides)."""
        bucket = self.buckets.delay(route)
        glob = 0.0 if route.token_route else self.global_limiter.delay()
        return max(bucket, glob), glob > bucket

    async def admit(self, call: Call) -> None:
        if call.deadline is not None:
            wait, is_global = self.delay(call.route)
            if self._clock() + wait > call.deadline:
                raise self.refusal(call.route, wait, is_global)
        await self.buckets.acquire(call.route)
        if not call.route.token_route:
            await self.global_limiter.acquire()

    def refusal(self, route: Route, retry_after: float, is_global: bool) -> RateLimitWait:
        """What Discord would answer with: Retry-After and the X-RateLimit-* headers."""
        headers = {
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update(self.buckets.headers(route, time.time()))
        return RateLimitWait(retry_after, is_global, headers)


class RateLimits:
    """A 429: the bucket (or, when global, every bot request) pauses; the call retries up to
    MAX_429_RETRIES times, or gives the 429 back when its wait would pass the deadline."""

    def __init__(self, pacing: Pacing, stats: RestStats, clock: Clock) -> None:
        self._pacing = pacing
        self._stats = stats
        self._clock = clock

    def after_429(self, call: Call, response: RestResponse) -> float | None:
        """Seconds to sleep before the retry (0: the pacing waits), or None: give it back."""
        retry_after, is_global, scope = retry_after_of(response)
        self._stats.rate_limited += 1
        if is_global:
            self._stats.global_rate_limited += 1
            self._pacing.global_limiter.pause(retry_after)
        else:
            self._pacing.buckets.block(call.route, retry_after)
        log.warning(
            "discord %s: 429 (%s) retry after %.3fs",
            call.route.key,
            "global" if is_global else scope or "route",
            retry_after,
        )
        call.limited += 1
        if call.limited > MAX_429_RETRIES:
            return None
        if call.deadline is not None and self._clock() + retry_after > call.deadline:
            return None
        # token routes skip the global limiter: they sleep out a global pause themselves
        return retry_after if is_global and call.route.token_route else 0.0


class Retries:
    """5xx answers (500 once; 502/503/504 up to 3 attempts) and connection errors (3
    attempts), with exponential backoff from `backoff_base`, not jittered (gateway/backoff.py)."""

    def __init__(self, backoff_base: float, stats: RestStats) -> None:
        self.backoff_base = backoff_base
        self._stats = stats

    def after_error(self, call: Call, exc: Exception) -> float | None:
        """Backoff before the next attempt, or None: raise `exc`."""
        self._stats.connection_errors += 1
        if call.attempts >= CONNECTION_ATTEMPTS:
            return None
        log.warning("discord %s: %s, retrying", call.route.key, type(exc).__name__)
        return self._retry(call)

    def after_status(self, call: Call, status: int) -> float | None:
        """Backoff before the next attempt, or None: this answer is the final one."""
        max_attempts = RETRY_STATUSES.get(status)
        if max_attempts is None or call.attempts >= max_attempts:
            return None
        log.warning("discord %s: %d, retrying", call.route.key, status)
        return self._retry(call)

    def _retry(self, call: Call) -> float:
        self._stats.retries += 1
        return backoff_delay(call.attempts, self.backoff_base)


def retry_after_of(response: RestResponse) -> tuple[float, bool, str | None]:
    """(seconds, global?, scope) of a 429, from the JSON body, else the headers."""
    headers = response.headers
    scope = headers.get("x-ratelimit-scope")
    is_global = headers.get("x-ratelimit-global", "").lower() == "true"
    retry_after: float | None = None
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        value = body.get("retry_after")
        if isinstance(value, int | float) and not isinstance(value, bool):
            retry_after = float(value)
        is_global = is_global or body.get("global") is True
    if retry_after is None:
        try:
            retry_after = float(headers.get("retry-after", "1"))
        except ValueError:
            retry_after = 1.0
    return max(0.0, retry_after), is_global or scope == "global", scope
