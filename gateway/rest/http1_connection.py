"""One keep-alive HTTP/1.1 connection of `Http1Pool` (gateway/rest/http1.py): the request
written, the answer read by httptools (llhttp: nothing here parses HTTP by hand), its size
bounded, a close before any byte of the answer told apart (`StaleConnection`)."""

from __future__ import annotations

import asyncio
from typing import cast

import httptools
import httpx

from gateway.rest.transport import Body, BodySource, RestResponse

_NO_BODY_STATUSES = frozenset({204, 304})
MAX_HEAD_BYTES = 64 * 1024


class StaleConnection(Exception):
    """The connection closed before any byte of the answer (a keep-alive race)."""


class AnswerTooLarge(httpx.RemoteProtocolError):
    """The answer's body is larger than the pool's `max_answer_bytes` (not read further)."""


class Http1Connection(asyncio.Protocol):
    """One keep-alive connection; at most one request at a time. httptools (llhttp, the parser
    under uvicorn and Node) reads the answers; this class only keeps what it reports."""

    def __init__(self, max_body: int | None = None) -> None:
        self.transport: asyncio.Transport | None = None
        self.max_body = max_body  # the longest body an answer may have (None: no limit)
        self.closed = False
        self.keep_alive = True
        self.idle_since = 0.0
        self.tunnelling = False  # waiting for the answer to a CONNECT (a proxy's tunnel)
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[RestResponse] | None = None
        self._writable = asyncio.Event()  # cleared while the transport's buffer is full
        self._writable.set()
        self._reset()

    def _reset(self) -> None:
        self._status = 0
        self._headers: list[tuple[str, str]] = []
        self._head_size = 0
        self._body = bytearray()
        self._head_done = False
        self._until_close = False  # no length, not chunked: the body ends with the connection
        self._received = False  # any byte of the answer to the current request
        self._problem: Exception | None = None

    # -- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # No isinstance check: uvloop's TCPTransport (the production worker's loop) is not an
        # asyncio.Transport subclass, though it has the same methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for: this connection is not reusable
            self.close()
            return
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(self._problem or httpx.RemoteProtocolError(f"bad answer: {exc}"))

    def eof_received(self) -> bool:
        self._lost()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost()

    # -- httptools callbacks ---------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self._waiter is None:  # a second answer to one request: not reusable
            self.close()
        self._headers = []
        self._head_size = 0
        self._body = bytearray()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._head_size > MAX_HEAD_BYTES:
            self._problem = httpx.RemoteProtocolError("answer head too large")
            raise self._problem
        self._headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()
        if self._status < 200:
            return  # informational: the real answer follows
        self._head_done = True
        if self.tunnelling:  # what follows a CONNECT's head is the tunnel, not a body
            self.tunnelling = False
            self._parser = httptools.HttpResponseParser(self)
            self._finish(RestResponse(self._status, _mapping(self._headers), b""))
            return
        declared = _get(self._headers, "content-length")
        self._until_close = (
            self._status not in _NO_BODY_STATUSES
            and not declared
            and "chunked" not in _get(self._headers, "transfer-encoding").lower()
        )
        if self.max_body is not None and declared.strip().isdigit():
            self._check_size(int(declared))

    def on_body(self, body: bytes) -> None:
        if self.max_body is not None:
            self._check_size(len(self._body) + len(body))
        self._body += body

    def _check_size(self, size: int) -> None:
        assert self.max_body is not None
        if size > self.max_body:
            self._problem = AnswerTooLarge(f"answer body over {self.max_body} bytes")
            raise self._problem

    def on_message_complete(self) -> None:
        if not self._head_done:
            return  # the end of a 1xx
        self.keep_alive = self._parser.should_keep_alive()
        self._finish(RestResponse(self._status, _mapping(self._headers), bytes(self._body)))

    # -- use -----------------------------------------------------------------------------
    def usable(self) -> bool:
        return not self.closed and self.keep_alive

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, head: bytes, body: Body, answer_within: float) -> RestResponse:
        """Send head and body, and wait at most `answer_within` s (from the first byte sent)
        for the whole answer."""
        assert self.transport is not None and self._waiter is None
        waiter: asyncio.Future[RestResponse] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        self._reset()
        try:
            async with asyncio.timeout(answer_within):
                if isinstance(body, bytes):
                    self.transport.writelines((head, body))
                else:
                    await self._stream(head, body, waiter)
                return await waiter
        except TimeoutError:
            self.close()
            raise httpx.ReadTimeout("no answer in time") from None
        finally:
            self._waiter = None

    async def _stream(
        self, head: bytes, body: BodySource, waiter: asyncio.Future[RestResponse]
    ) -> None:
        """Write `body` as it is read, waiting whenever the socket's buffer is full; stop when
        the server answered already (the connection is then not reused) or went away."""
        assert self.transport is not None
        self.transport.write(head)
        async for chunk in body.chunks():
            if waiter.done() or self.closed:
                self.keep_alive = False
                return
            self.transport.write(chunk)
            if not self._writable.is_set():
                await self._writable.wait()

    # -- flow control (asyncio.Protocol) ----------------------------------------------------
    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def _finish(self, response: RestResponse) -> None:
        self._writable.set()  # a body still being streamed stops at once
        waiter = self._waiter
        self._waiter = None  # any byte after the answer makes the connection unusable
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    def _fail(self, exc: Exception) -> None:
        self.close()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def _lost(self) -> None:
        self.closed = True
        self._writable.set()  # a body being streamed stops at its next chunk
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if not self._received:
            waiter.set_exception(StaleConnection())
        elif self._head_done and self._until_close:
            self.keep_alive = False
            waiter.set_result(
                RestResponse(self._status, _mapping(self._headers), bytes(self._body))
            )
        else:
            waiter.set_exception(httpx.RemoteProtocolError("connection closed mid-answer"))


def _mapping(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Header list -> dict; a repeated name's values joined with ", " (as httpx does)."""
    out: dict[str, str] = {}
    for name, value in headers:
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _get(headers: list[tuple[str, str]], name: str) -> str:
    for key, value in headers:
        if key == name:
            return value
    return ""
