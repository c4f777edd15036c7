"""DiscordRest: the rate-limited Discord REST client on long-lived httpx.AsyncClients.

- `Authorization: Bot <token>` and `User-Agent: DiscordBot (url, version)` on every call.
- Per-route buckets (major params kept) mapped to `X-RateLimit-Bucket` hashes; a bucket at
  `Remaining: 0` waits `Reset-After`; a 429 is honoured (`retry_after`, `global` -> every
  bot-authenticated request pauses).
- The global 50/s limit, which interaction callbacks and webhook-with-token routes skip.
- 5xx (500 once; 502/503/504 up to 3 attempts) and connection errors retried with backoff.
- Invalid requests (401/403/429 except shared-scope 429) counted per 10 minutes; close to
  Discord's 10,000 the client refuses non-essential requests, then everything.
- The 401 rule. A 401 to one of the server's own bot-authenticated calls is checked with
  `GET /users/@me` (one check at a time, shared by every call that waits on it); only when that
  answers 401 too is the token marked invalid (`failed`, `failure_reason`, the listeners of
  `on_token_state` told): the call raises `DiscordAuthFailed`, and so does every later
  bot-authenticated call, refused before it is sent. Otherwise the 401 is that call's answer.
  A 401 to a proxied call (`proxy`) is the main app's: given back as it came, nothing checked.
  Token routes (callbacks, webhook-with-token edits) carry no bot token: a 401 there says
  nothing about it, and they keep going while the token is marked invalid. `check_token()`
  checks again (POST /discord) and clears the mark when Discord takes the token.
- Interaction callbacks (`POST /interactions/{id}/{token}/callback`, the 3 s acknowledgements)
  go on `self.callbacks`, a client and connection pool of their own
  (gateway/rest/http_client.py), so they are never queued behind other requests. The same
  bucket/429/retry rules apply to them. The main app's proxied calls have their own too.

Each rule is a named piece of gateway/rest/rules.py (the 401 rule: gateway/rest/token_rule.py);
`request` only strings them together. Both transports (gateway/rest/transport.py) answer with one
type, `RestResponse`; the clients are gateway/rest/http_client.py's. Tokens in logged URLs:
gateway/rest/redact.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.rest.discord_clock import DiscordClock
from gateway.rest.errors import (
    DiscordAuthFailed,
    DiscordRestError,
    InvalidRequestBudget,
    RateLimitWait,
)
from gateway.rest.http_client import ClientOptions, OriginClient, new_client
from gateway.rest.ratelimit import (
    BucketRegistry,
    GlobalLimiter,
    InvalidRequestCounter,
    route_for,
)
from gateway.rest.redact import install_log_redaction, redact_tokens
from gateway.rest.rules import (
    INVALID_HARD_LIMIT,
    INVALID_SOFT_LIMIT,
    Call,
    InvalidBudget,
    Pacing,
    RateLimits,
    Retries,
)
from gateway.rest.stats import RestStats
from gateway.rest.token_rule import CHECK_PATH, TokenListener, TokenState
from gateway.rest.transport import Body, RestResponse, Transport
from gateway.user_agent import USER_AGENT

__all__ = [
    "INVALID_HARD_LIMIT",
    "INVALID_SOFT_LIMIT",
    "USER_AGENT",
    "DiscordAuthFailed",
    "DiscordRest",
    "DiscordRestError",
    "InvalidRequestBudget",
    "RateLimitWait",
    "RestResponse",
    "new_rest_client",
    "redact_tokens",
]

log = logging.getLogger("gateway.rest")

#: Requests DiscordRest lets into its client at once; the pool is sized to match, so none
#: waits inside it.
MAX_IN_FLIGHT = 50
#: Keep-alive connections of the acknowledgement path (interaction callbacks).
CALLBACK_CONNECTIONS = 16
#: Keep-alive connections of the main app's proxied calls (`DiscordRest.proxy`).
PROXY_CONNECTIONS = MAX_IN_FLIGHT
PROXY_ANSWER_TIMEOUT = 120.0
#: The path the callbacks' pool opens its connections with (`warm_callbacks`): unauthenticated
#: and outside the rate limits.
WARM_PATH = "/gateway"


def new_rest_client(api_base: str, timeout: float = 15.0) -> httpx.AsyncClient:
    """The client DiscordRest wants for `api_base`: its own pool (never the forwards' client),
    sized to DiscordRest's in-flight cap."""
    return new_client(api_base, ClientOptions(max_connections=MAX_IN_FLIGHT, timeout=timeout))


class DiscordRest:
    def __init__(
        self,
        api_base: str,
        token: str,
        client: httpx.AsyncClient,
        *,
        clocks: Clocks = SYSTEM_CLOCKS,
        global_limit: int = 50,
        global_window: float = 1.0,
        backoff_base: float = 0.5,
        max_in_flight: int = MAX_IN_FLIGHT,
        callback_pool: OriginClient | bool = True,
    ) -> None:
        self._base = api_base.rstrip("/")
        self._token = token
        clock, sleep = clocks.monotonic, clocks.sleep
        self._clock = clock
        self._wall = clocks.wall
        self._sleep = sleep
        self.buckets = BucketRegistry(clock, sleep)
        self.global_limiter = GlobalLimiter(clock, sleep, global_limit, global_window)
        self.invalid = InvalidRequestCounter(clock)
        self.stats = RestStats()
        self.budget = InvalidBudget(self.invalid, self.stats)
        self.pacing = Pacing(self.buckets, self.global_limiter, clock)
        self.rate_limits = RateLimits(self.pacing, self.stats, clock)
        self.retries = Retries(backoff_base, self.stats)
        self._transport: Transport = OriginClient(self._base, client, max_in_flight=max_in_flight)
        self.discord_clock = DiscordClock(clocks=clocks)  # from the Date header of every answer
        # Interaction callbacks (the 3 s acknowledgements) go on their own client and pool:
        # never queued behind other requests.
        self.callbacks: OriginClient | None = None
        if isinstance(callback_pool, OriginClient):
            self.callbacks = callback_pool
        elif callback_pool:
            self.callbacks = OriginClient.open(
                self._base, ClientOptions(max_connections=CALLBACK_CONNECTIONS)
            )
        # The main app's calls (the REST proxy) on a pool of their own, so they never hold
        # the connections of the server's own calls. Its answer timeout counts from the
        # request's start: room for a 25 MiB upload.
        self.proxied = OriginClient.open(
            self._base,
            ClientOptions(max_connections=PROXY_CONNECTIONS, timeout=PROXY_ANSWER_TIMEOUT),
        )
        # The 401 rule: the bot token marked invalid (a 401 on a call of ours, then on
        # GET /users/@me), and the checks that change it.
        self.token_state = TokenState(self._send_token_check)
        install_log_redaction()

    def __repr__(self) -> str:  # never the token
        return f"DiscordRest({self._base!r}, failed={self.failed})"

    @property
    def failed(self) -> bool:
        """The bot token is marked invalid: bot-token calls are refused before they are sent."""
        return self.token_state.failed

    @property
    def failure_reason(self) -> str | None:
        return self.token_state.failure_reason

    async def aclose(self) -> None:
        """Close the callbacks' and the proxy's clients (`client` belongs to the caller)."""
        if self.callbacks is not None:
            await self.callbacks.aclose()
        await self.proxied.aclose()

    async def warm_callbacks(self, connections: int = 2) -> None:
        """Open acknowledgement connections ahead of the first interaction (best effort): TCP
        and TLS done by `connections` GETs of /gateway at once."""
        if self.callbacks is not None:
            try:
                await self.callbacks.warm(connections, WARM_PATH)
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
        content: Body | None = None,
        headers: Mapping[str, str] | None = None,
        reason: str | None = None,
        auth: bool = True,
        essential: bool | None = None,
        route_key: str | None = None,
        max_wait: float | None = None,
        transport: Transport | None = None,
    ) -> RestResponse:
        """Send one Discord request, paced by its bucket (and the global limit when it applies).

        `path` may carry a query string. `json` is encoded (Content-Type set); `content` is
        sent as given with the `headers` (e.g. its Content-Type). Returns the final answer
        (2xx or not); raises `DiscordAuthFailed` when the bot token is marked invalid (the
        401 rule, module docstring),
        `InvalidRequestBudget` when close to Discord's invalid-request ban, `RateLimitWait`
        when a limit would hold the request more than `max_wait` seconds (a 429 whose
        retry_after passes it is given back instead), and the httpx error when the connection
        keeps failing. `essential` requests (interaction callbacks, error messages to users)
        go on until the hard invalid-request cap (None: token routes are, others are not).
        `route_key` overrides the rate-limit route.
        `transport`: where to send (default: `client`, the callbacks' pool for callbacks).
        """
        call = self._prepare(method, path, json, content, headers, reason, auth, essential)
        if transport is not None:
            call.transport = transport
        if route_key is not None:
            call.route = route_for(method, route_key)
        if max_wait is not None:
            call.deadline = self._clock() + max_wait
        return await self._run(call)

    async def _run(self, call: Call) -> RestResponse:
        """Send `call` until its answer is final (waits, retries, the 401 rule)."""
        method, path = call.method, call.path
        while True:
            await self._admit(call)
            call.attempts += 1
            self.stats.requests += 1
            sent = self._wall()  # the answer's Date was written after this (discord_clock.py)
            try:
                response = await call.transport.send(method, path, call.headers, call.content)
            except httpx.TransportError as exc:
                delay = self.retries.after_error(call, exc)
                if delay is None:
                    raise
                await self._sleep(delay)
                continue
            self._answered(call, response, sent)
            delay = self._judge(call, response)
            if delay is None:
                if call.attempts > 1:  # an earlier send may have reached Discord
                    response = replace(response, attempts=call.attempts)
                if response.status == 401 and call.bot_auth and call.owner == "server":
                    await self.token_state.after_own_401(call.route.key)
                return response
            if delay:
                await self._sleep(delay)

    async def proxy(
        self,
        method: str,
        path: str,
        content: Body | None,
        headers: Mapping[str, str],
        *,
        max_wait: float,
    ) -> RestResponse:
        """A call made for the main app (the REST proxy): the same rules and limits as the
        server's own calls, the bot token except on token routes (Discord wants none there),
        on the proxy's own keep-alive pool, waiting at most `max_wait` for a limit. A 401 is
        the caller's: given back as it came, the token's state untouched."""
        auth = not route_for(method, path).token_route
        # what is left of the budget is kept for the server's own calls: not essential
        call = self._prepare(method, path, None, content or None, headers, None, auth, False)
        call.owner = "proxy"
        call.transport = self.proxied
        call.deadline = self._clock() + max_wait
        return await self._run(call)

    # ---- the bot token (the 401 rule, gateway/rest/token_rule.py) ------------------------
    def on_token_state(self, callback: TokenListener) -> TokenListener:
        """`callback(reason)` when the token is marked invalid, `callback(None)` when a check
        finds it working again."""
        return self.token_state.on_change(callback)

    async def check_token(self, cause: str = "a check") -> bool | None:
        """Ask Discord whether it takes the bot token: `GET /users/@me`, even while it is
        marked invalid. True: it does (a mark is cleared); False: 401 (the token is marked
        invalid, the reason naming `cause`); None: no answer either way (unreachable, 5xx,
        the invalid-request budget): nothing changes."""
        return await self.token_state.check(cause)

    async def confirm_token(self, cause: str) -> bool | None:
        """`check_token(cause)`, one at a time: a check already under way (for a burst of
        401s, or a gateway close 4004) is waited for instead of sending another."""
        return await self.token_state.confirm(cause)

    def reset_failure(self) -> None:
        """Allow bot-token calls again (check_token() does it when Discord takes the token)."""
        self.token_state.reset()

    async def _send_token_check(self) -> RestResponse:
        call = self._prepare("GET", CHECK_PATH, None, None, None, None, True, True)
        call.owner = "check"
        return await self._run(call)

    def _prepare(
        self,
        method: str,
        path: str,
        json: Any,
        content: Body | None,
        extra: Mapping[str, str] | None,
        reason: str | None,
        auth: bool,
        essential: bool | None,
    ) -> Call:
        route = route_for(method, path)
        headers = {"User-Agent": USER_AGENT}
        if auth:
            headers["Authorization"] = f"Bot {self._token}"
        if reason:
            headers["X-Audit-Log-Reason"] = quote(reason[:512], safe=" ")
        if json is not None:
            # copied out of orjson's buffer (4 KiB at least, kept by its bytes): a callback
            # waiting for a connection then holds its own size (gateway/interactions/model.py)
            content = bytes(memoryview(orjson.dumps(json)))
            headers["Content-Type"] = "application/json"
        if extra:
            headers.update(extra)
        fast = self.callbacks if route.callback else None
        return Call(
            method=method,
            path=path,
            route=route,
            headers=headers,
            content=content,
            transport=fast if fast is not None else self._transport,
            essential=route.token_route if essential is None else essential,
            bot_auth=auth and not route.token_route,
        )

    async def _admit(self, call: Call) -> None:
        """The rules before a send: token state and budget, bucket and global waits."""
        self._check(call)
        if call.deadline is None:
            await self.pacing.admit(call)
        else:
            try:
                async with asyncio.timeout(max(0.0, call.deadline - self._clock())):
                    await self.pacing.admit(call)
            except TimeoutError:  # queued behind others of its bucket past the deadline
                wait, is_global = self.pacing.delay(call.route)
                raise self.pacing.refusal(call.route, wait, is_global) from None
        self._check(call)

    def _answered(self, call: Call, response: RestResponse, sent: float) -> None:
        """Every Discord answer passes here, once, before anything is decided on it (`sent`:
        the unix time its request went out)."""
        self.discord_clock.observe(response.headers.get("date"), sent, self._wall())
        status = response.status
        self.stats.responses[status] = self.stats.responses.get(status, 0) + 1
        self.buckets.update(call.route, response.headers)
        self.budget.count(response)

    def _judge(self, call: Call, response: RestResponse) -> float | None:
        """None: `response` is the answer. Else the seconds to sleep before the next send."""
        status = response.status
        if status == 429:
            call.attempts -= 1  # a 429 is not a failed attempt
            return self.rate_limits.after_429(call, response)
        return self.retries.after_status(call, status)

    def _check(self, call: Call) -> None:
        """Refused before sending: a bot-token call while the token is marked invalid (the
        check itself excepted), or the invalid-request budget."""
        if self.token_state.failed and call.bot_auth and call.owner != "check":
            self.stats.refused += 1
            raise self.token_state.refusal()
        self.budget.check(call.essential)
