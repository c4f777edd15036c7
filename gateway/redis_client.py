"""The one place a Redis client is built from REDIS_URL: the interaction journal, the events
and timers stores, the timers' sync, the gateway's identify lock and sessions, the shard and
role leases, the overlay store (through the factory) and the operator's command.

- `redis_client(url, ...)`: connections are made on first use. `timeout` (s): the socket and
  connect timeouts (none by default: a blocking read such as a pub/sub listen must not time
  out); `max_connections`: a bounded pool that waits for a free connection under a burst
  (rather than opening one per caller, or failing).
- `connected(url, ...)`: the same, pinged, and closed again when the ping fails, so a store
  never holds a client to a dead server.

Replies are bytes (no `decode_responses`): every user decodes what it reads itself.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis


def redis_client(
    url: str, *, timeout: float | None = None, max_connections: int | None = None
) -> aioredis.Redis:
    if max_connections is not None:
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
        )
        return aioredis.Redis(connection_pool=pool)
    return aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


async def connected(url: str, **options: Any) -> aioredis.Redis:
    """`redis_client(url, **options)`, pinged."""
    client = redis_client(url, **options)
    try:
        await client.ping()
    except BaseException:
        await client.aclose()
        raise
    return client
