"""Http1Pool: a small HTTP/1.1 keep-alive client for one origin, for the hot paths: the
interaction callbacks, the forwards to the main app, the REST proxy's calls.

Why not httpx here: on this machine an httpx request costs ~1 ms of CPU (anyio cancel scopes,
h11, URL and header models) and its connection pool does work proportional to
(queued requests x connections) whenever a request starts or ends, so a burst of interactions
spent most of the event loop inside the pool. A request here is one `transport.write` and one
parse of the answer in `data_received` (~0.1 ms). Interaction callbacks are the relay's only
hard deadline (Discord's 3 s window), and a burst holds up to FORWARD_MAX_IN_FLIGHT forwards
open at once; the server's other calls stay on httpx.

Scope: one origin (http or https, certificates checked as httpx does; directly or through
the environment's outgoing proxy, gateway/egress.py), a bytes body (or a streamed
`BodySource`) with
Content-Length, answers with Content-Length, chunked or read-until-close bodies (1xx skipped),
parsed by httptools (llhttp); nothing here parses HTTP by hand. With `max_answer_bytes` an
answer whose body is larger fails with AnswerTooLarge as soon as that is known (a declared
Content-Length at once, otherwise when the bytes received pass it): no more of it is read, and
the connection is closed.
Idle connections are reused newest first; one the server closed while it was idle is noticed
before reuse, and a reused connection that closes before any byte of the answer is retried
once on a new connection. Failures raise httpx exceptions (`httpx.TransportError` family), so
callers handle one family of errors.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from typing import Literal, cast
from urllib.parse import urlsplit

import httptools
import httpx

from gateway.egress import EgressProxy, proxy_for
from gateway.rest.transport import Body, BodySource, RestResponse

_NO_BODY_STATUSES = frozenset({204, 304})
MAX_HEAD_BYTES = 64 * 1024


class _Stale(Exception):
    """The connection closed before any byte of the answer (a keep-alive race)."""


class AnswerTooLarge(httpx.RemoteProtocolError):
    """The answer's body is larger than the pool's `max_answer_bytes` (not read further)."""


class _Connection(asyncio.Protocol):
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
            waiter.set_exception(_Stale())
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


class Http1Pool:
    """Keep-alive connections to the origin of `base_url`; requests take paths below it."""

    def __init__(
        self,
        base_url: str,
        *,
        max_connections: int = 16,
        connect_timeout: float = 5.0,
        timeout: float = 15.0,
        keepalive_expiry: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
        proxy: EgressProxy | Literal["environment"] | None = "environment",
        max_answer_bytes: int | None = None,
    ) -> None:
        """`proxy`: the outgoing proxy, by default the one the environment names for
        `base_url` (gateway/egress.py); None connects directly. `max_answer_bytes`: a
        longer answer body is an AnswerTooLarge error, read no further (None: no limit)."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = parts.hostname
        tls = parts.scheme == "https"
        self.port = parts.port or (443 if tls else 80)
        default_port = self.port == (443 if tls else 80)
        host_header = self.host if default_port else f"{self.host}:{self.port}"
        self._prefix = parts.path.rstrip("/")
        self._ssl = (ssl_context or httpx.create_ssl_context()) if tls else None
        self._host_line = f"Host: {host_header}\r\n"
        self.proxy = proxy_for(base_url) if proxy == "environment" else proxy
        # http through a proxy: absolute-form, one request per connection (some proxies,
        # tinyproxy among them, relay whatever follows the first request as is, its
        # Proxy-Authorization included, to the origin)
        self._reuse = True
        if self.proxy is not None and not tls:
            self._prefix = f"http://{host_header}{self._prefix}"
            self._host_line += "Connection: close\r\n"
            if self.proxy.authorization:
                self._host_line += f"Proxy-Authorization: {self.proxy.authorization}\r\n"
            self._reuse = False
        self._connect_timeout = connect_timeout
        self._max_answer_bytes = max_answer_bytes
        self._timeout = timeout
        self._keepalive_expiry = keepalive_expiry
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []  # newest last
        self._open: set[_Connection] = set()
        self.connects = 0  # connections opened (for tests and stats)
        self.closed = False

    def __repr__(self) -> str:
        return f"Http1Pool({self.host}:{self.port}, open={len(self._open)})"

    @property
    def open_connections(self) -> int:
        return sum(1 for conn in self._open if not conn.closed)

    async def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: Body = b"",
        *,
        answer_within: float | None = None,
    ) -> RestResponse:
        """Send `method` `prefix + path` and return the whole answer. A `BodySource` body is
        streamed as it is read (with the socket's flow control), never held whole."""
        if self.closed:
            raise httpx.ConnectError("the pool is closed")
        # the head alone, sent with the body in one writev: no copy of the body is made, and
        # nothing but these bytes stays alive while the answer is awaited (1,000 forwards)
        size = len(body) if isinstance(body, bytes) else body.size
        head = (
            f"{method} {self._prefix}{path} HTTP/1.1\r\n{self._host_line}"
            + "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
            + f"Content-Length: {size}\r\n\r\n"
        ).encode("latin-1")
        del headers  # the caller may hand over its only reference
        limit = self._timeout if answer_within is None else answer_within
        async with self._slots:
            conn = self._take_idle()
            if conn is not None:
                try:
                    return self._release(conn, await conn.exchange(head, body, limit))
                except _Stale:
                    pass  # the server had closed it: one more try on a new connection
                except BaseException:
                    conn.close()
                    raise
            conn = await self._connect()
            try:
                return self._release(conn, await conn.exchange(head, body, limit))
            except _Stale:
                raise httpx.RemoteProtocolError("server disconnected without an answer") from None
            except BaseException:
                conn.close()
                raise

    async def send(
        self, method: str, path: str, headers: Mapping[str, str], content: Body | None
    ) -> RestResponse:
        """The `Transport` interface (gateway/rest/transport.py)."""
        return await self.request(method, path, headers, b"" if content is None else content)

    async def warm(self, count: int = 1) -> None:
        """Open up to `count` idle connections ahead of time (TCP and TLS handshakes done)."""
        wanted = max(0, count - len(self._idle))
        conns = await asyncio.gather(*(self._connect() for _ in range(wanted)))
        now = time.monotonic()
        for conn in conns:
            conn.idle_since = now
            self._idle.append(conn)

    async def aclose(self) -> None:
        self.closed = True
        for conn in list(self._open):
            conn.close()
        self._open.clear()
        self._idle.clear()

    def _take_idle(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if conn.usable() and now - conn.idle_since < self._keepalive_expiry:
                return conn
            conn.close()
            self._open.discard(conn)
        return None

    def _release(self, conn: _Connection, response: RestResponse) -> RestResponse:
        if conn.usable() and self._reuse and not self.closed:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()
            self._open.discard(conn)
        return response

    def _new_connection(self) -> _Connection:
        return _Connection(self._max_answer_bytes)

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        proxy = self.proxy
        where = f"{self.host}:{self.port}" + (f" via {proxy.host}:{proxy.port}" if proxy else "")
        try:
            async with asyncio.timeout(self._connect_timeout):
                if proxy is None:
                    _transport, conn = await loop.create_connection(
                        self._new_connection,
                        self.host,
                        self.port,
                        ssl=self._ssl,
                        server_hostname=self.host if self._ssl is not None else None,
                    )
                else:
                    _transport, conn = await loop.create_connection(
                        self._new_connection, proxy.host, proxy.port
                    )
                    if self._ssl is not None:
                        try:
                            await self._tunnel(loop, conn, proxy)
                        except BaseException:  # refused, TLS failed, or out of time
                            conn.close()
                            raise
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {where}") from None
        except OSError as exc:
            raise httpx.ConnectError(f"{where}: {exc}") from exc
        self.connects += 1
        self._open.add(conn)
        return conn

    async def _tunnel(
        self, loop: asyncio.AbstractEventLoop, conn: _Connection, proxy: EgressProxy
    ) -> None:
        """CONNECT through the proxy, then TLS to the origin inside the tunnel."""
        target = f"{self.host}:{self.port}"
        head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
        if proxy.authorization:
            head += f"Proxy-Authorization: {proxy.authorization}\r\n"
        conn.tunnelling = True
        wire = (head + "\r\n").encode("latin-1")
        try:
            answer = await conn.exchange(wire, b"", self._connect_timeout)
        except (_Stale, httpx.TransportError) as exc:
            raise httpx.ProxyError(
                f"proxy {proxy.host}:{proxy.port}: no answer to CONNECT"
            ) from exc
        if not 200 <= answer.status < 300:
            raise httpx.ProxyError(
                f"proxy {proxy.host}:{proxy.port} answered {answer.status} to CONNECT {target}"
            )
        assert conn.transport is not None and self._ssl is not None
        tls = await loop.start_tls(conn.transport, conn, self._ssl, server_hostname=self.host)
        if tls is None:  # the transport closed during the handshake
            raise httpx.ConnectError(f"{target}: closed during the TLS handshake in the tunnel")
        conn.transport = tls
