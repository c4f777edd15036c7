"""The forwards to the main app: their HTTP client, which answers are retried, the choices."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

RETRY_STATUSES = frozenset({502, 503, 504})
#: Forwards in flight at once. httpx's pool does work proportional to its connection count on
#: every request and answer, so thousands of open connections would starve the event loop.
MAX_CONCURRENT_FORWARDS = 100


def new_forward_client(max_connections: int = MAX_CONCURRENT_FORWARDS) -> httpx.AsyncClient:
    """A client for the forwards: its own pool (never the REST client's), sized to the relay's
    `max_concurrent_forwards` so forwards never queue inside httpx."""
    return httpx.AsyncClient(
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
    )


def parse_choices(content: bytes) -> list[Any] | None:
    """The `choices` list of the main app's `{"choices": [...]}` (at most 25), else None."""
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    choices = data.get("choices") if isinstance(data, dict) else None
    return choices[:25] if isinstance(choices, list) else None
