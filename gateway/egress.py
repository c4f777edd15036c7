"""The outgoing HTTP proxy an operator configured, read as httpx and curl read it.

HTTPS_PROXY for https:// and wss:// destinations, HTTP_PROXY for http:// and ws://, ALL_PROXY
for either when the specific one is unset (upper or lower case); NO_PROXY lists hosts reached
directly (`*` for all, a domain also covers its subdomains). The one place that decides,
for the gateway's WebSocket (websockets' `proxy=`) and every outgoing HTTP client
(gateway/rest/http_client.py: the REST client, its callbacks and proxied calls, the forwards,
the deliveries), once per client for its origin.

Proxies are spoken to in plain HTTP (`http://[user:password@]host[:port]`): https
destinations through a CONNECT tunnel, http ones by absolute-form requests (by websockets and
aiohttp). Any other proxy scheme is refused with the variable's name, at start, rather than
ignored.
"""

from __future__ import annotations

import base64
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import SplitResult, unquote, urlsplit

_PROXY_SCHEME = {"https": "https", "wss": "https", "http": "http", "ws": "http"}


@dataclass(frozen=True)
class EgressProxy:
    host: str
    port: int
    #: The Proxy-Authorization value when the URL had credentials; like `url`, kept out of
    #: reprs (and so out of logs).
    authorization: str | None = field(default=None, repr=False)
    url: str = field(default="", repr=False)  # as configured, for websockets' `proxy=`


def proxy_for(url: str) -> EgressProxy | None:
    """The proxy the environment names for `url`, or None to connect directly."""
    parts = urlsplit(url)
    kind = _PROXY_SCHEME.get(parts.scheme)
    if kind is None or not parts.hostname:
        return None
    proxies = urllib.request.getproxies_environment()
    name = kind if proxies.get(kind) else "all"
    configured = proxies.get(name)
    if not configured:
        return None
    # The stdlib's NO_PROXY matching (urllib's own openers use it; not in typeshed).
    if urllib.request.proxy_bypass_environment(parts.hostname, proxies):  # type: ignore[attr-defined]
        return None
    return parse_proxy(configured, f"{name.upper()}_PROXY")


def _split(value: str) -> tuple[str, SplitResult]:
    """A proxy variable's value as a URL: a bare host:port is http (as curl and httpx read it)."""
    url = value if "://" in value else "http://" + value
    return url, urlsplit(url)


def parse_proxy(value: str, variable: str) -> EgressProxy:
    value, parts = _split(value)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(
            f"{variable}: only http:// proxies are supported (got {parts.scheme or 'none'}://)"
        )
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return EgressProxy(parts.hostname, parts.port or 80, authorization, value)


def proxy_secrets() -> tuple[str, ...]:
    """The credentials in the proxy variables, for the log scrubber: each password (as
    written and decoded) and the Basic value made of it."""
    found: list[str] = []
    for value in urllib.request.getproxies_environment().values():
        _url, parts = _split(value)
        if not parts.password:
            continue
        found += [parts.password, unquote(parts.password)]
        try:
            authorization = parse_proxy(value, "proxy").authorization
        except ValueError:  # refused at start anyway; its password is still masked
            continue
        if authorization:
            found.append(authorization.removeprefix("Basic "))
    return tuple(found)
