"""The one response type of the REST client and the one interface its transports implement.

`DiscordRest` decides what to send and when (gateway/rest/rules.py); a `Transport` only moves
bytes: `send(method, path, headers, content) -> RestResponse`. Two implementations:
`HttpxTransport` (every ordinary call, on the caller's httpx.AsyncClient) and
`gateway.rest.http1.Http1Pool` (the interaction callbacks' keep-alive pool). Both raise the
`httpx.TransportError` family on connection failures, so the rules handle one family.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import orjson


@dataclass(frozen=True, slots=True)
class RestResponse:
    """One Discord answer: status, headers (names lower-cased) and the body as received;
    `attempts`: how many sends the client made for it (more than 1 after a retry)."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    attempts: int = 1

    @property
    def status_code(self) -> int:
        """The httpx spelling of `status`, for callers that read answers either way."""
        return self.status

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body decoded as JSON (raises orjson.JSONDecodeError when it is not)."""
        return orjson.loads(self.content)


class BodySource(Protocol):
    """A request body too large to hold in memory (a proxied upload): `size` bytes, read again
    from the start by each `chunks()` (a retry sends it again)."""

    size: int

    def chunks(self) -> AsyncIterator[bytes]: ...


Body = bytes | BodySource


class Transport(Protocol):
    """Sends one request to a path below the API base and returns the whole answer."""

    async def send(
        self, method: str, path: str, headers: Mapping[str, str], content: Body | None
    ) -> RestResponse: ...


class HttpxTransport:
    """Requests on a long-lived httpx.AsyncClient, at most `max_in_flight` inside it at once.

    httpx's pool works in proportion to (queued requests x connections) on every request and
    answer; keeping at most `max_in_flight` in it (and a pool that large) keeps it cheap."""

    def __init__(self, base_url: str, client: httpx.AsyncClient, max_in_flight: int) -> None:
        self._base = base_url.rstrip("/")
        self._client = client
        self._in_flight = asyncio.Semaphore(max_in_flight)

    async def send(
        self, method: str, path: str, headers: Mapping[str, str], content: Body | None
    ) -> RestResponse:
        sent: bytes | AsyncIterator[bytes] | None = None
        if isinstance(content, bytes):
            sent = content
        elif content is not None:  # streamed, with its length
            headers = {**headers, "Content-Length": str(content.size)}
            sent = content.chunks()
        async with self._in_flight:
            response = await self._client.request(
                method, self._base + path, content=sent, headers=headers
            )
            body = await response.aread()
        return RestResponse(response.status_code, dict(response.headers.items()), body)
