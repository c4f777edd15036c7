"""Production's rule for the URLs the server calls: https, unless their host is a loopback
address or ALLOW_INSECURE_URLS=true (a cross-field rule of `asgi_app/settings.py`'s schema)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from asgi_app import validation as v

#: The URL settings that must be https in production, unless their host is a loopback address
#: or ALLOW_INSECURE_URLS=true.
SECURE_URLS = ("ORIGIN_URL", "FORWARD_URL", "TIMERS_URL", "EVENTS_URL", "DISCORD_API_BASE")
_INSECURE_MESSAGE = (
    "must be https unless its host is a loopback address (127.0.0.0/8, ::1, localhost); "
    "ALLOW_INSECURE_URLS=true allows http"
)


def is_loopback_host(host: str | None) -> bool:
    """localhost, 127.0.0.0/8 or ::1 (a URL's hostname, brackets removed)."""
    if not host:
        return False
    host = host.rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secure_url_rules(values: Mapping[str, Any], report: v.Reporter) -> None:
    """Production: each of SECURE_URLS that is set is https or on a loopback host. A value
    that failed its own schema is reported there only (it is not an http URL here)."""
    if values.get("ALLOW_INSECURE_URLS") is True:
        return
    for name in SECURE_URLS:
        url = values.get(name)
        if not isinstance(url, str):
            continue
        try:
            parts = urlsplit(url.strip())
            host = parts.hostname
        except ValueError:
            continue
        if parts.scheme.lower() == "http" and host and not is_loopback_host(host):
            report.add(_INSECURE_MESSAGE, path=(name,))
