"""The forwards to the main app: their HTTP client, the headers and signatures, the retries."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson

from gateway.backoff import Jitter, backoff_delay
from gateway.clock import Clock, Sleep
from gateway.interactions.model import Interaction
from gateway.interactions.server_responses import FORWARD_PATHS
from gateway.interactions.signatures import sign
from gateway.interactions.stats import RelayStats
from gateway.interactions.trace import HEADER as TRACEPARENT
from gateway.interactions.trace import trace_id_for, traceparent
from gateway.rest.http_client import OriginClient
from gateway.rest.transport import RestResponse

log = logging.getLogger("gateway.relay")

RETRY_STATUSES = frozenset({502, 503, 504})
#: Forwards in flight at once (FORWARD_MAX_IN_FLIGHT); more wait for a slot, counted in
#: `RelayStats.forwards_waiting` (/metrics). aiohttp's pool's cost per request does not grow
#: with the connections open, so the bound is there for the main app's sake, not the client's.
MAX_CONCURRENT_FORWARDS = 1000
#: The longest answer body the main app may give a forward: a longer one is a failed attempt
#: (AnswerTooLarge, like a garbled answer), read no further than this, so a misbehaving main
#: app cannot make 1,000 forwards in flight hold more than this much each.
MAX_ANSWER_BYTES = 1 << 20
#: Extra signature headers for a forward, from (X-Signature-Timestamp, body): e.g. Ed25519.
Signer = Callable[[str, bytes], Mapping[str, str]]


def new_forward_client(
    forward_url: str,
    max_connections: int = MAX_CONCURRENT_FORWARDS,
    max_answer_bytes: int = MAX_ANSWER_BYTES,
) -> OriginClient:
    """The forwards' own client and pool to FORWARD_URL (never the REST client's or the
    callbacks'), as large as the forwards allowed in flight, so none queues inside it; answers
    over `max_answer_bytes` fail (gateway/rest/http_client.py)."""
    return OriginClient.open(
        forward_url, max_connections=max_connections, max_answer_bytes=max_answer_bytes
    )


def parse_choices(content: bytes) -> list[Any] | None:
    """The `choices` list of the main app's `{"choices": [...]}` (at most 25), else None."""
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    choices = data.get("choices") if isinstance(data, dict) else None
    return choices[:25] if isinstance(choices, list) else None


class Forwarder:
    """POST an interaction to `{FORWARD_URL}/command|component|modal|autocomplete` on `client`
    (a pool on FORWARD_URL): connection errors, timeouts, 502/503/504 retried with backoff (at
    most `max_attempts`, all within the budget, the same X-Interaction-Id)."""

    def __init__(
        self,
        client: OriginClient,
        auth_token: str,
        *,
        timeout: float = 10.0,
        clock: Clock = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        max_attempts: int = 3,
        backoff_base: float = 1.0,
        max_concurrent: int = MAX_CONCURRENT_FORWARDS,
        signers: Sequence[Signer] = (),
        stats: RelayStats | None = None,
        legacy_auth: bool = False,
    ) -> None:
        self._client = client
        # FORWARD_LEGACY_AUTH: the token itself as Authorization, for a main app that does
        # not verify signatures yet. Otherwise the signatures alone prove a forward.
        self._legacy_auth = legacy_auth
        self._auth_token = auth_token
        self._timeout = timeout
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._rng = rng
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._slots = asyncio.Semaphore(max_concurrent)
        self._signers = tuple(signers)
        self.stats = stats or RelayStats()

    def __repr__(self) -> str:  # never the auth token
        return f"Forwarder({self._client!r})"

    def _headers(self, interaction: Interaction, extra: Mapping[str, str]) -> dict[str, str]:
        """The forward's headers, signed now (each attempt has its own timestamp and its own
        parent id in `traceparent`; the trace id is the interaction's, trace.py)."""
        body = interaction.raw
        timestamp = str(int(self._wall_clock()))
        sent = {
            "Content-Type": "application/json",
            "X-Interaction-Id": interaction.id,
            TRACEPARENT: traceparent(trace_id_for(interaction.id)),
            **extra,
            "X-Signature-Timestamp": timestamp,
            "X-Signature-SHA256": sign(self._auth_token, timestamp, body),
        }
        for signer in self._signers:
            sent.update(signer(timestamp, body))
        if self._legacy_auth:
            sent["Authorization"] = self._auth_token
        return sent

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """One of the in-flight slots; the forwards waiting for one are counted."""
        stats = self.stats
        stats.forwards_waiting += 1
        try:
            await self._slots.acquire()
        finally:
            stats.forwards_waiting -= 1
        try:
            yield
        finally:
            self._slots.release()

    async def send(
        self, interaction: Interaction, budget: float, headers: Mapping[str, str]
    ) -> tuple[RestResponse | None, bool]:
        """(2xx response or None, whether it was retried). `headers`: X-Response-Mode etc."""
        path = FORWARD_PATHS[interaction.type]
        body = interaction.raw
        deadline = self._clock() + budget
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - self._clock()
            timeout = max(0.001, min(self._timeout, remaining))
            retryable: bool
            try:
                async with self._slot():
                    async with asyncio.timeout(timeout):  # the connect included
                        response = await self._client.request(
                            "POST",
                            path,
                            self._headers(interaction, headers),
                            body,
                            answer_within=timeout,
                        )
            except (httpx.HTTPError, TimeoutError) as exc:  # connection errors, timeouts, garbage
                retryable = True
                problem = type(exc).__name__
            else:
                if response.is_success:
                    return response, attempt > 1
                retryable = response.status in RETRY_STATUSES
                problem = str(response.status)
            delay = backoff_delay(attempt, self._backoff_base, jitter=Jitter.HALF, rng=self._rng)
            if (
                not retryable
                or attempt >= self._max_attempts
                or self._clock() + delay >= deadline - 0.001
            ):
                log.warning(
                    "interaction %s type %d: forward failed (%s, attempt %d)",
                    interaction.id,
                    interaction.type,
                    problem,
                    attempt,
                )
                return None, attempt > 1
            self.stats.retries += 1
            log.info(
                "interaction %s type %d: forward %s, retry in %.2fs",
                interaction.id,
                interaction.type,
                problem,
                delay,
            )
            await self._sleep(delay)
