"""Every outgoing HTTP request of the server: httpx's API on aiohttp's connection pool.

`new_client` builds the one kind of client: an httpx.AsyncClient on httpx-aiohttp's
`AiohttpTransport`, over an aiohttp ClientSession and TCPConnector made here. `OriginClient`
sends one origin's requests on such a client (or on any httpx.AsyncClient) and answers with
`RestResponse`; its `open` builds both. What a client is made with is declared once, in
`ClientOptions`. The REST client and its callbacks and
proxied calls (gateway/rest/client.py), the forwards (gateway/interactions/forward.py) and the
deliveries of events and timers (gateway/delivery/sender.py) each hold their own.

Why this pair: httpx is the API the project uses everywhere, but httpcore's pool (httpx's own)
does work per request in proportion to the requests queued and the connections open
(encode/httpx#3215). aiohttp's pool (the one discord.py and hikari use) does not, and parses
with llhttp. httpx-aiohttp, written by one of httpx's maintainers, is httpx's transport
interface on it (docs/PERFORMANCE.md, "Which client for forwards").

What a client does:
- at most `max_connections` connections (the TCPConnector's `limit`), idle ones kept
  `keepalive_expiry` s. `OriginClient` lets that many requests in at once, so none waits
  inside the pool and `connect_timeout` bounds only the making of a connection (TCP, the
  proxy's CONNECT, TLS);
- the whole answer within `timeout` s (or the request's `answer_within`) of the request's start,
  else httpx.ReadTimeout;
- TLS verified with httpx's default context (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), or the
  `ssl_context` given;
- the outgoing proxy the environment names for the origin (gateway/egress.py: HTTPS_PROXY,
  HTTP_PROXY, ALL_PROXY, NO_PROXY, credentials): https through a CONNECT tunnel, http in
  absolute form and one request per connection (some proxies, tinyproxy among them, relay
  whatever follows the first request, its Proxy-Authorization included, to the origin);
- the server's User-Agent (gateway/user_agent.py); no cookies kept; `Accept-Encoding:
  identity`: bodies are handed over as received;
- an answer body over `max_answer_bytes` is AnswerTooLarge as soon as that is known (a declared
  Content-Length at once, otherwise when the bytes read pass it): no more of it is read, and its
  connection is closed;
- failures raise the httpx.TransportError family, named for what happened (`translate`,
  gateway/rest/http_errors.py: httpx-aiohttp's own mapping calls a refused connect or a hang-up
  a ConnectTimeout and lets a malformed answer through as aiohttp's error).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from http.client import HTTPResponse
from http.cookiejar import CookieJar
from typing import Any, Literal
from urllib.parse import urlsplit
from urllib.request import Request

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from gateway.egress import EgressProxy, proxy_for
from gateway.rest.http_errors import AnswerTooLarge, translate
from gateway.rest.transport import Body, RestResponse
from gateway.user_agent import USER_AGENT

__all__ = [
    "AnswerTooLarge",
    "ClientOptions",
    "OriginClient",
    "new_client",
    "translate",
]

#: The headers of every request: no compressed answers (a proxied answer is handed on as it
#: came, without its Content-Encoding); aiohttp writes Connection itself.
_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
#: Methods sent with a Content-Length even when the body is empty (as httpx does).
_LENGTH_ALWAYS = frozenset({"POST", "PUT", "PATCH"})
#: httpx.URLs an OriginClient keeps, by path (forwards, events, timers: a few paths each).
_URLS_KEPT = 64
_HTTPX_LOG = logging.getLogger("httpx")


class _KeepNoCookies(CookieJar):
    """httpx's cookie store, keeping none: no call of the server carries another's cookies,
    and an answer's headers are not copied into an email.message for the stdlib's parser."""

    def extract_cookies(self, response: HTTPResponse, request: Request) -> None:
        return None


@cache
def default_tls() -> ssl.SSLContext:
    """httpx's verified context (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), made once."""
    return httpx.create_ssl_context()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientOptions:
    """What a client is made with (`new_client`, `OriginClient.open`), declared once: the
    pool's size, its timeouts, TLS and the outgoing proxy. `proxy`: by default the one the
    environment names for the base URL (a proxy variable with a scheme other than http:// is a
    ValueError naming it); None connects directly."""

    max_connections: int
    connect_timeout: float = 5.0
    timeout: float = 15.0
    keepalive_expiry: float = 60.0
    ssl_context: ssl.SSLContext | None = None
    proxy: EgressProxy | Literal["environment"] | None = "environment"

    def egress(self, base_url: str) -> EgressProxy | None:
        """The proxy requests to `base_url` go through (None: directly)."""
        return proxy_for(base_url) if self.proxy == "environment" else self.proxy


def new_client(base_url: str, options: ClientOptions) -> httpx.AsyncClient:
    """An httpx.AsyncClient on aiohttp's pool for requests to the origin of `base_url`."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {base_url!r}")
    egress = options.egress(base_url)
    tls = options.ssl_context or default_tls()
    one_per_connection = egress is not None and parts.scheme == "http"
    max_connections, keepalive_expiry = options.max_connections, options.keepalive_expiry

    def session() -> aiohttp.ClientSession:  # made in the event loop, at the first request
        connector = aiohttp.TCPConnector(
            limit=max_connections,
            ssl=tls,
            force_close=one_per_connection,
            keepalive_timeout=None if one_per_connection else keepalive_expiry,
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    transport = AiohttpTransport(
        verify=tls,
        proxy=_proxy(egress) if egress is not None else None,
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=keepalive_expiry,
        ),
        client=session,
    )
    connect = options.connect_timeout
    client = _AiohttpClient(
        transport,
        timeout=httpx.Timeout(options.timeout, connect=connect, pool=connect),
        headers=_HEADERS,
        cookies=_KeepNoCookies(),
        trust_env=False,  # the proxy is decided above, once (gateway/egress.py)
    )
    del client.headers["Connection"]
    if one_per_connection and egress is not None and egress.authorization:
        # absolute-form: the credentials go with each request (aiohttp adds the transport's
        # proxy headers to a CONNECT only); the proxy takes them off before the origin
        client.headers["Proxy-Authorization"] = egress.authorization
    return client


class _AiohttpClient(httpx.AsyncClient):
    """The client `new_client` makes: an httpx.AsyncClient that names its transport, for
    `OriginClient` to hand requests to directly."""

    def __init__(self, transport: AiohttpTransport, **options: Any) -> None:
        super().__init__(transport=transport, **options)
        self.aiohttp_transport = transport


def _proxy(egress: EgressProxy) -> httpx.Proxy:
    """The proxy as the transport takes it: its address, and the credentials as the
    Proxy-Authorization header of the CONNECT."""
    host = f"[{egress.host}]" if ":" in egress.host else egress.host
    headers = {"Proxy-Authorization": egress.authorization} if egress.authorization else None
    return httpx.Proxy(f"http://{host}:{egress.port}", headers=headers)


class OriginClient:
    """Requests to paths below `base_url` on `client`, at most `max_in_flight` at once, each
    answered whole (`RestResponse`: the body as received, bounded by `max_answer_bytes`) within
    `timeout` s (None: the client's own timeouts only).

    On a client `new_client` made, a request whose body is bytes is built here as an
    `httpx.Request` and handed to its transport's `handle_async_request`: the client's headers
    (as they are now) merged once, URLs of paths seen before reused, and none of
    `AsyncClient.send`'s per-request base-URL merge, cookie jar, auth and redirect layers,
    which these calls never use (about half of the client's CPU per request,
    docs/PERFORMANCE.md). Anything else goes through `client.send`."""

    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient,
        *,
        max_in_flight: int,
        max_answer_bytes: int | None = None,
        timeout: float | None = None,
        owned: bool = False,
        proxy: EgressProxy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client
        self._slots = asyncio.Semaphore(max_in_flight)
        self._max_answer_bytes = max_answer_bytes
        self._timeout = timeout
        self._timeouts = self._timeouts_for(timeout)
        self._owned = owned  # aclose() closes the httpx client too
        #: The outgoing proxy (gateway/egress.py) the client goes through, when known.
        self.proxy = proxy
        self._transport = client.aiohttp_transport if isinstance(client, _AiohttpClient) else None
        self._timeout_extension = self._timeouts.as_dict()
        connect = self._timeouts.connect
        self._connect_extension = {"connect": connect, "pool": connect}
        # (name, value, lower-cased name) of every request's headers, the client's defaults
        self._fixed = [(name, value, name.lower()) for name, value in client.headers.items()]
        self._urls: dict[str, httpx.URL] = {}  # the paths seen first (bounded: _URLS_KEPT)

    @classmethod
    def open(
        cls, base_url: str, options: ClientOptions, *, max_answer_bytes: int | None = None
    ) -> OriginClient:
        """A client of its own (`new_client`) for `base_url`, as many requests at once as
        connections; answers over `max_answer_bytes` are AnswerTooLarge."""
        egress = options.egress(base_url)
        return cls(
            base_url,
            new_client(base_url, replace(options, proxy=egress)),
            max_in_flight=options.max_connections,
            max_answer_bytes=max_answer_bytes,
            timeout=options.timeout,
            owned=True,
            proxy=egress,
        )

    def __repr__(self) -> str:
        return f"OriginClient({urlsplit(self.base_url).netloc})"

    async def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: Body = b"",
        *,
        answer_within: float | None = None,
    ) -> RestResponse:
        """Send `method` `base_url + path` and return the whole answer. A `BodySource` body is
        streamed as it is read (with its Content-Length), never held whole."""
        if self.client.is_closed:
            raise httpx.ConnectError(f"{self._where()}: the client is closed")
        if answer_within is None:
            limit, timeouts = self._timeout, self._timeouts
        else:
            limit, timeouts = answer_within, self._timeouts_for(answer_within)
        transport = self._transport
        if transport is not None and isinstance(body, bytes):
            request = self._request(method, path, headers, body, answer_within)
        elif isinstance(body, bytes):
            request = self.client.build_request(
                method, self.base_url + path, headers=headers, content=body, timeout=timeouts
            )
            transport = None
        else:  # streamed, with its length
            sized = {**headers, "Content-Length": str(body.size)}
            request = self.client.build_request(
                method,
                self.base_url + path,
                headers=sized,
                content=body.chunks(),
                timeout=timeouts,
            )
            transport = None
        del headers  # the caller may hand over its only reference
        async with self._slots:
            try:
                async with asyncio.timeout(limit):
                    if transport is not None:
                        response = await transport.handle_async_request(request)
                    else:
                        response = await self.client.send(request, stream=True)
                    try:
                        content = await self._read(response)
                    finally:
                        await response.aclose()
            except (httpx.TransportError, aiohttp.ClientError) as exc:  # aiohttp's timeouts too
                named = translate(exc, self._where())
                if named is exc:
                    raise
                raise named from exc
            except TimeoutError:  # `limit` passed
                raise httpx.ReadTimeout(f"no answer within {limit} s", request=request) from None
        if transport is not None and _HTTPX_LOG.isEnabledFor(logging.INFO):
            _HTTPX_LOG.info(  # the line AsyncClient.send logs (tokens redacted: redact.py)
                'HTTP Request: %s %s "HTTP/1.1 %d %s"',
                method,
                request.url,
                response.status_code,
                response.reason_phrase,
            )
        return RestResponse(response.status_code, dict(response.headers.items()), content)

    def _request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        answer_within: float | None,
    ) -> httpx.Request:
        """The request `AsyncClient.build_request` would make, built without its merges: the
        client's headers but those `headers` name again, then `headers`, then the length."""
        url = self._urls.get(path)
        if url is None:
            url = httpx.URL(self.base_url + path)
            if len(self._urls) >= _URLS_KEPT:  # bounded: each callback's path is new
                self._urls.clear()
            self._urls[path] = url
        given = {name.lower() for name in headers}
        pairs = [(name, value) for name, value, lower in self._fixed if lower not in given]
        pairs.extend(headers.items())
        if "content-length" not in given and (body or method in _LENGTH_ALWAYS):
            pairs.append(("Content-Length", str(len(body))))
        if answer_within is None and self._timeout is None:
            timeouts = self._timeout_extension  # the client's own bound the answer
        else:  # request() bounds the whole answer: no read timer of aiohttp's per request
            timeouts = self._connect_extension
        request = httpx.Request(
            method,
            url,
            headers=pairs,
            stream=httpx.ByteStream(body),
            extensions={"timeout": timeouts},
        )
        request.read()  # the body is there: the transport sends it as bytes
        return request

    def _timeouts_for(self, limit: float | None) -> httpx.Timeout:
        """httpx's timeouts for an answer due within `limit` s (None: the client's own)."""
        own = self.client.timeout
        if limit is None:
            return own
        return httpx.Timeout(limit, connect=own.connect, pool=own.connect)

    def _where(self) -> str:
        """The origin (and the proxy) as an error names them."""
        where = urlsplit(self.base_url).netloc
        proxy = self.proxy
        return where if proxy is None else f"{where} via {proxy.host}:{proxy.port}"

    async def _read(self, response: httpx.Response) -> bytes:
        """The body as received, failing as soon as it is known to be over the limit."""
        limit = self._max_answer_bytes
        if limit is not None:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise AnswerTooLarge(f"answer body over {limit} bytes")
        parts: list[bytes] = []
        size = 0
        stream = response.stream  # as the transport gives it (no re-chunking)
        assert isinstance(stream, httpx.AsyncByteStream)
        async for chunk in stream:
            size += len(chunk)
            if limit is not None and size > limit:
                raise AnswerTooLarge(f"answer body over {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    async def send(
        self, method: str, path: str, headers: Mapping[str, str], content: Body | None
    ) -> RestResponse:
        """The `Transport` interface (gateway/rest/transport.py)."""
        return await self.request(method, path, headers, b"" if content is None else content)

    async def warm(self, count: int, path: str) -> None:
        """Open `count` connections ahead of the first request (TCP, the proxy's tunnel and
        TLS done): `count` GETs of `path` at once, their answers dropped."""
        done = await asyncio.gather(
            *(self.request("GET", path, {}) for _ in range(count)), return_exceptions=True
        )
        for result in done:
            if isinstance(result, BaseException):
                raise result

    async def aclose(self) -> None:
        if self._owned:
            await self.client.aclose()
