"""The per-request object handlers and middleware receive."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from asgi_app.http.body import decode_form, decode_json, media_type
from asgi_app.http.errors import ClientDisconnect, HTTPError
from asgi_app.http.headers import Headers
from asgi_app.http.types import Message, Receive, Scope

if TYPE_CHECKING:
    from asgi_app.http.routing import Route

_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def incoming_request_id(value: str | None) -> str | None:
    """An incoming X-Request-Id is honoured only when it is a short token of safe characters."""
    if value and _SAFE_REQUEST_ID.fullmatch(value):
        return value
    return None


def too_large(limit: int) -> HTTPError:
    return HTTPError(
        413, f"Request body is larger than {limit} bytes", headers={"Connection": "close"}
    )


class Request:
    """One HTTP request. Headers are decoded on first use; the body is read lazily, limited
    and cached. `content_type` / `content_length` are the raw header values (or None)."""

    __slots__ = (
        "_body",
        "_cut_at",
        "_headers",
        "_json",
        "_query",
        "_streamed",
        "allow",
        "body_limit",
        "body_value",
        "client",
        "content_length",
        "content_type",
        "method",
        "path",
        "path_params",
        "receive",
        "request_id",
        "route",
        "scope",
        "state",
    )

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        *,
        request_id: str,
        body_limit: int,
        content_type: str | None = None,
        content_length: str | None = None,
        scanned: bool = False,
    ) -> None:
        """`scanned=True`: the caller already took content-type/length from the headers."""
        self.scope = scope
        self.receive = receive
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        client = scope.get("client")
        self.client: str = client[0] if client else ""
        self.request_id = request_id
        self.body_limit = body_limit
        self.path_params: dict[str, Any] = {}
        self.state: dict[str, Any] = {}
        self.route: Route | None = None
        self.allow: str | None = None  # the Allow value when the path exists, not the method
        self.body_value: Any = None
        self._headers: Headers | None = None
        self._body: bytes | None = None
        self._cut_at: int | None = None  # bytes received when the limit stopped the reading
        self._streamed = False  # chunks() began reading: the body is not kept
        self._json: Any = _UNSET
        self._query: dict[str, list[str]] | None = None
        if not scanned:
            headers = self.headers
            content_type = headers.get("content-type")
            content_length = headers.get("content-length")
        self.content_type = content_type
        self.content_length = content_length

    @property
    def headers(self) -> Headers:
        headers = self._headers
        if headers is None:
            headers = self._headers = Headers(self.scope["headers"])
        return headers

    def header(self, name: str) -> str | None:
        """One header, as `headers.get(name)` answers it (repeated ones joined with ", "),
        without decoding every other header when `headers` was not needed yet."""
        headers = self._headers
        if headers is not None:
            return headers.get(name)
        key = name.lower().encode("latin-1")
        found: str | None = None
        for raw_name, raw_value in self.scope["headers"]:
            if raw_name.lower() == key:
                value = raw_value.decode("latin-1")
                found = value if found is None else found + ", " + value
        return found

    @property
    def query(self) -> dict[str, list[str]]:
        if self._query is None:
            raw = self.scope.get("query_string", b"")
            self._query = parse_qs(raw.decode("latin-1"), keep_blank_values=True) if raw else {}
        return self._query

    def query_param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def media_type(self) -> str:
        """The media type without parameters, lower-case ("" when absent)."""
        return media_type(self.content_type)[0]

    async def body(self) -> bytes:
        """The whole body, read once, with the limits of `chunks()`."""
        if self._body is not None:
            return self._body
        self._start()
        message = await self.receive()
        if message["type"] == "http.request" and not message.get("more_body", False):
            body: bytes = message.get("body", b"")  # the common case: one message
            if len(body) > self.body_limit:
                raise too_large(self.body_limit)
        else:
            body = b"".join([chunk async for chunk in self._from(message)])
        self._body = body
        return body

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives, for a route that passes it on without holding it. 413
        before reading when Content-Length is over the limit, and as soon as a streamed
        (chunked) body passes it, without reading the rest. Read once: `body()` afterwards
        raises, unless it was called first."""
        if self._body is not None:
            yield self._body
            return
        self._start()
        async for chunk in self._from(await self.receive()):
            yield chunk

    def _start(self) -> None:
        """Before the first body message: read once, and the Content-Length check."""
        if self._streamed:
            raise RuntimeError("the request body was already read by chunks()")
        self._streamed = True
        declared = self.content_length
        if declared is not None:
            if not declared.isdigit():
                raise HTTPError(400, "Content-Length is not a number")
            if int(declared) > self.body_limit:
                self._cut_at = 0
                raise too_large(self.body_limit)

    async def _from(self, message: Message) -> AsyncIterator[bytes]:
        """The body's chunks from `message` on, counted against the limit."""
        limit = self.body_limit
        size = 0
        while True:
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk: bytes = message.get("body", b"")
            more = message.get("more_body", False)
            if chunk:
                size += len(chunk)
                if size > limit:
                    if more:
                        self._cut_at = size
                    raise too_large(limit)
                yield chunk
            if not more:
                return
            message = await self.receive()

    @property
    def body_cut_short(self) -> bool:
        """True when the body limit stopped the reading before the body ended."""
        return self._cut_at is not None

    async def drain(self, max_bytes: int, max_seconds: float) -> bool:
        """Read and discard what is left of a body cut short by the limit, at most `max_bytes`
        more within `max_seconds`, so the client gets to read the answer. True when the body
        ended within that budget (the connection can be kept), False otherwise."""
        received = self._cut_at
        if received is None:
            return True
        declared = self.content_length
        if declared is not None and declared.isdigit() and int(declared) - received > max_bytes:
            return False  # announced too much: not worth waiting for
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_seconds
        drained = 0
        while drained <= max_bytes:
            left = deadline - loop.time()
            if left <= 0:
                return False
            try:
                message = await asyncio.wait_for(self.receive(), left)
            except TimeoutError:
                return False
            if message["type"] == "http.disconnect":
                return False
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                self._cut_at = None
                return drained <= max_bytes
        return False

    async def json(self) -> Any:
        """The body decoded as JSON (400 with line/column when malformed); cached."""
        if self._json is _UNSET:
            charset = media_type(self.content_type)[1].get("charset")
            self._json = decode_json(await self.body(), charset)
        return self._json

    async def form(self) -> dict[str, list[str]]:
        """The body decoded as application/x-www-form-urlencoded."""
        charset = media_type(self.content_type)[1].get("charset")
        return decode_form(await self.body(), charset)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path} id={self.request_id}>"


class _Unset:
    __slots__ = ()


_UNSET: Any = _Unset()
