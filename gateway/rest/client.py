"""DiscordRest: the rate-limited Discord REST client on one long-lived httpx.AsyncClient.

- `Authorization: Bot <token>` and `User-Agent: DiscordBot (url, version)` on every call.
- Per-route buckets (major params kept) mapped to `X-RateLimit-Bucket` hashes; a bucket at
  `Remaining: 0` waits `Reset-After`; a 429 is honoured (`retry_after`, `global` -> every
  bot-authenticated request pauses).
- The global 50/s limit, which interaction callbacks and webhook-with-token routes skip.
- 5xx (500 once; 502/503/504 up to 3 attempts) and connection errors retried with backoff.
- Invalid requests (401/403/429 except shared-scope 429) counted per 10 minutes; close to
  Discord's 10,000 the client refuses non-essential requests, then everything.
- A 401 on a bot-authenticated route marks the client failed ("invalid token"): every further
  request raises `DiscordAuthFailed`.
- Interaction callbacks (`POST /interactions/{id}/{token}/callback`, the 3 s acknowledgements)
  skip httpx: they go on `self.callbacks`, a small keep-alive pool of their own
  (gateway/rest/http1.py), so they are never queued behind other requests and cost ~10x less CPU.
  The same bucket/429/retry rules apply to them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from gateway.rest.discord_clock import DiscordClock
from gateway.rest.http1 import Http1Pool
from gateway.rest.ratelimit import (
    BucketRegistry,
    Clock,
    GlobalLimiter,
    InvalidRequestCounter,
    Sleep,
    route_for,
)
from gateway.rest.stats import RestStats

log = logging.getLogger("gateway.rest")

USER_AGENT = "DiscordBot (https://github.com/draft-league/companion, 0.1.0)"
RETRY_STATUSES = {500: 2, 502: 3, 503: 3, 504: 3}  # status -> max attempts
CONNECTION_ATTEMPTS = 3
MAX_429_RETRIES = 5
#: Refuse non-essential requests from this many invalid requests per 10 min, all at the hard cap.
INVALID_SOFT_LIMIT = 8_000
INVALID_HARD_LIMIT = 9_500


_TOKEN_IN_PATH = re.compile(r"(/(?:interactions|webhooks)/\d+/)[^/\s\"?]+")


def redact_tokens(text: str) -> str:
    """Hide interaction and webhook tokens in a URL or log line."""
    return _TOKEN_IN_PATH.sub(r"\1[token]", text)


class _RedactTokens(logging.Filter):
    """httpx logs every request URL at INFO; interaction/webhook tokens are in those paths."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACT = _RedactTokens()


def install_log_redaction() -> None:
    """Idempotent: put the token filter on the httpx logger."""
    httpx_log = logging.getLogger("httpx")
    if _REDACT not in httpx_log.filters:
        httpx_log.addFilter(_REDACT)


class DiscordRestError(Exception):
    """A request this client refused or could not complete."""


class DiscordAuthFailed(DiscordRestError):
    """The bot token was refused (401): the client stops sending anything."""


class InvalidRequestBudget(DiscordRestError):
    """Too many 401/403/429 answers in the last 10 minutes: request refused locally."""


#: Requests DiscordRest lets into httpx at once; its pool is sized to match, so httpx never
#: queues (its pool does work proportional to queued requests x connections on every event).
MAX_IN_FLIGHT = 50
#: Keep-alive connections of the acknowledgement path (interaction callbacks).
CALLBACK_CONNECTIONS = 16


def new_rest_client(timeout: float = 15.0) -> httpx.AsyncClient:
    """The client DiscordRest wants: its own pool (never the forwards' client), sized to
    DiscordRest's in-flight cap."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT),
    )


class DiscordRest:
    def __init__(
        self,
        api_base: str,
        token: str,
        client: httpx.AsyncClient,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        global_limit: int = 50,
        global_window: float = 1.0,
        backoff_base: float = 0.5,
        max_in_flight: int = MAX_IN_FLIGHT,
        callback_pool: Http1Pool | bool = True,
    ) -> None:
        self._base = api_base.rstrip("/")
        self._token = token
        self._client = client
        self._clock = clock
        self._sleep = sleep
        self._backoff_base = backoff_base
        self.buckets = BucketRegistry(clock, sleep)
        self.global_limiter = GlobalLimiter(clock, sleep, global_limit, global_window)
        self.invalid = InvalidRequestCounter(clock)
        self.stats = RestStats()
        self.discord_clock = DiscordClock()  # from the Date header of every answer
        # httpx's pool works in proportion to (queued requests x connections) on every request
        # and answer; at most `max_in_flight` in it (and a pool that large) keep it cheap.
        self._in_flight = asyncio.Semaphore(max_in_flight)
        # Interaction callbacks (the 3 s acknowledgements) go on their own keep-alive pool:
        # never queued behind other requests, ~10x less CPU than an httpx request.
        self.callbacks: Http1Pool | None = None
        if isinstance(callback_pool, Http1Pool):
            self.callbacks = callback_pool
        elif callback_pool:
            self.callbacks = Http1Pool(self._base, max_connections=CALLBACK_CONNECTIONS)
        self.failed = False
        self.failure_reason: str | None = None
        install_log_redaction()

    def __repr__(self) -> str:  # never the token
        return f"DiscordRest({self._base!r}, failed={self.failed})"

    async def aclose(self) -> None:
        """Close the acknowledgement connections (the httpx client belongs to the caller)."""
        if self.callbacks is not None:
            await self.callbacks.aclose()

    async def warm_callbacks(self, connections: int = 2) -> None:
        """Open acknowledgement connections ahead of the first interaction (best effort)."""
        if self.callbacks is not None:
            try:
                await self.callbacks.warm(connections)
            except httpx.TransportError as exc:
                log.warning("discord: could not pre-open callback connections: %s", exc)

    async def get_gateway_bot(self) -> dict[str, Any]:
        """GET /gateway/bot -> {"url", "shards", "session_start_limit"}."""
        response = await self.request("GET", "/gateway/bot")
        if response.status_code != 200:
            raise DiscordRestError(f"GET /gateway/bot answered {response.status_code}")
        data = response.json()
        if not isinstance(data, dict):
            raise DiscordRestError("GET /gateway/bot answered something else than an object")
        return data

    async def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        reason: str | None = None,
        auth: bool = True,
        essential: bool = False,
        route_key: str | None = None,
    ) -> httpx.Response:
        """Send one Discord request, paced by its bucket (and the global limit when it applies).

        Returns the final response (2xx or not); raises `DiscordAuthFailed` once the token is
        refused, `InvalidRequestBudget` when close to Discord's invalid-request ban, and the
        httpx error when the connection keeps failing. `essential` requests (interaction
        callbacks, error messages to users) go on until the hard invalid-request cap.
        `route_key` overrides the rate-limit route (rarely needed).
        """
        route = route_for(method, route_key or path)
        essential = essential or route.token_route
        headers = {"User-Agent": USER_AGENT}
        if auth:
            headers["Authorization"] = f"Bot {self._token}"
        if reason:
            headers["X-Audit-Log-Reason"] = quote(reason[:512], safe=" ")
        content: bytes | None = None
        if json is not None:
            content = orjson.dumps(json)
            headers["Content-Type"] = "application/json"
        url = self._base + path
        fast = self.callbacks if route.callback else None

        attempt = 0
        limited = 0
        while True:
            self._check(essential)
            await self.buckets.acquire(route)
            if not route.token_route:
                await self.global_limiter.acquire()
            self._check(essential)
            attempt += 1
            self.stats.requests += 1
            try:
                if fast is not None:
                    response = await self._send_fast(fast, method, path, headers, content)
                else:
                    async with self._in_flight:
                        response = await self._client.request(
                            method, url, content=content, headers=headers
                        )
                        await response.aread()
            except httpx.TransportError as exc:
                self.stats.connection_errors += 1
                if attempt >= CONNECTION_ATTEMPTS:
                    raise
                self.stats.retries += 1
                log.warning("discord %s: %s, retrying", route.key, type(exc).__name__)
                await self._backoff(attempt)
                continue
            self.discord_clock.observe(response.headers.get("date"), time.time())
            status = response.status_code
            self.stats.responses[status] = self.stats.responses.get(status, 0) + 1
            self.buckets.update(route, response.headers)

            if status == 429:
                retry_after, is_global, scope = _retry_after(response)
                if scope != "shared":
                    self.invalid.add()
                self.stats.rate_limited += 1
                if is_global:
                    self.stats.global_rate_limited += 1
                    self.global_limiter.pause(retry_after)
                else:
                    self.buckets.block(route, retry_after)
                log.warning(
                    "discord %s: 429 (%s) retry after %.3fs",
                    route.key,
                    "global" if is_global else scope or "route",
                    retry_after,
                )
                limited += 1
                if limited > MAX_429_RETRIES:
                    return response
                if is_global and route.token_route:
                    await self._sleep(retry_after)  # token routes skip the global limiter
                attempt -= 1  # a 429 is not a failed attempt
                continue
            if status in (401, 403):
                self.invalid.add()
            if status == 401 and auth and not route.token_route:
                self._fail("invalid token")
                raise DiscordAuthFailed("Discord refused the bot token (401)")
            max_attempts = RETRY_STATUSES.get(status)
            if max_attempts is not None and attempt < max_attempts:
                self.stats.retries += 1
                log.warning("discord %s: %d, retrying", route.key, status)
                await self._backoff(attempt)
                continue
            return response

    @staticmethod
    async def _send_fast(
        pool: Http1Pool, method: str, path: str, headers: dict[str, str], content: bytes | None
    ) -> httpx.Response:
        answer = await pool.request(method, path, headers, content or b"")
        return httpx.Response(answer.status, headers=answer.headers, content=answer.content)

    def _check(self, essential: bool) -> None:
        if self.failed:
            self.stats.refused += 1
            raise DiscordAuthFailed(f"Discord REST client failed: {self.failure_reason}")
        count = self.invalid.count()
        if count >= INVALID_HARD_LIMIT or (count >= INVALID_SOFT_LIMIT and not essential):
            self.stats.refused += 1
            raise InvalidRequestBudget(f"{count} invalid requests in the last 10 minutes")

    def _fail(self, reason: str) -> None:
        if not self.failed:
            log.error("discord REST client failed: %s", reason)
        self.failed = True
        self.failure_reason = reason

    def reset_failure(self) -> None:
        """Allow requests again (after the token was replaced, e.g. on POST /discord)."""
        self.failed = False
        self.failure_reason = None

    async def _backoff(self, attempt: int) -> None:
        await self._sleep(self._backoff_base * 2 ** (attempt - 1))


def _retry_after(response: httpx.Response) -> tuple[float, bool, str | None]:
    """(seconds, global?, scope) of a 429, from the JSON body, else the headers."""
    scope = response.headers.get("x-ratelimit-scope")
    is_global = response.headers.get("x-ratelimit-global", "").lower() == "true"
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
            retry_after = float(response.headers.get("retry-after", "1"))
        except ValueError:
            retry_after = 1.0
    return max(0.0, retry_after), is_global or scope == "global", scope
