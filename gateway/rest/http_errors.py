"""The errors of the outgoing HTTP client (gateway/rest/http_client.py), named as httpx names
them: `translate` turns what aiohttp (under httpx-aiohttp) raised into the httpx error that says
what happened, `AnswerTooLarge` is an answer over the client's size limit."""

from __future__ import annotations

import aiohttp
import httpx

__all__ = ["AnswerTooLarge", "translate"]


class AnswerTooLarge(httpx.RemoteProtocolError):
    """The answer's body is longer than the client's `max_answer_bytes` (read no further)."""


def translate(exc: BaseException, netloc: str) -> httpx.TransportError:
    """An error of the transport as the httpx error that names what happened, `netloc` the
    place it happened at (an error of another httpx transport is returned as it is)."""
    cause = exc.__cause__ if isinstance(exc, httpx.TransportError) else exc
    if not isinstance(cause, aiohttp.ClientError):
        return exc if isinstance(exc, httpx.TransportError) else httpx.TransportError(str(exc))
    if isinstance(cause, aiohttp.ClientHttpProxyError):
        return httpx.ProxyError(f"the proxy answered {cause.status} to CONNECT for {netloc}")
    if isinstance(cause, aiohttp.ClientProxyConnectionError):
        return httpx.ConnectError(f"{netloc}: the proxy cannot be reached: {cause}")
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(f"connecting to {netloc}: {cause}")
    if isinstance(cause, aiohttp.ClientConnectorError):  # refused, DNS, TLS
        return httpx.ConnectError(f"{netloc}: {cause}")
    if isinstance(cause, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(f"{netloc}: {cause}")
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(f"{netloc}: server disconnected without an answer")
    if isinstance(cause, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(f"{netloc}: bad answer: {cause}")
    return httpx.ReadError(f"{netloc}: {cause}")
