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
from typing import Literal
from urllib.parse import urlsplit

import httpx

from gateway.egress import EgressProxy, proxy_for
from gateway.rest.http1_connection import (
    MAX_HEAD_BYTES,
    AnswerTooLarge,
    Http1Connection,
    StaleConnection,
)
from gateway.rest.transport import Body, RestResponse

__all__ = ["MAX_HEAD_BYTES", "AnswerTooLarge", "Http1Pool"]


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
        self._idle: list[Http1Connection] = []  # newest last
        self._open: set[Http1Connection] = set()
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
                except StaleConnection:
                    pass  # the server had closed it: one more try on a new connection
                except BaseException:
                    conn.close()
                    raise
            conn = await self._connect()
            try:
                return self._release(conn, await conn.exchange(head, body, limit))
            except StaleConnection:
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

    def _take_idle(self) -> Http1Connection | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if conn.usable() and now - conn.idle_since < self._keepalive_expiry:
                return conn
            conn.close()
            self._open.discard(conn)
        return None

    def _release(self, conn: Http1Connection, response: RestResponse) -> RestResponse:
        if conn.usable() and self._reuse and not self.closed:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()
            self._open.discard(conn)
        return response

    def _new_connection(self) -> Http1Connection:
        return Http1Connection(self._max_answer_bytes)

    async def _connect(self) -> Http1Connection:
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
        self, loop: asyncio.AbstractEventLoop, conn: Http1Connection, proxy: EgressProxy
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
        except (StaleConnection, httpx.TransportError) as exc:
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
