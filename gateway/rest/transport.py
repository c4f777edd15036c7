"""The one response type of the REST client and the one interface its transports implement.

`DiscordRest` decides what to send and when (gateway/rest/rules.py); a `Transport` only moves
bytes: `send(method, path, headers, content) -> RestResponse`. The implementation is
`gateway.rest.http_client.OriginClient` (an httpx.AsyncClient's requests to one origin); it
raises the `httpx.TransportError` family on connection failures, so the rules handle one family.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

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
