"""The one place a Redis client is built from REDIS_URL: the interaction journal, the events
and timers stores, the timers' sync, the gateway's identify lock and sessions, the shard and
role leases, the overlay store (through the factory) and the operator's command.

- `redis_client(url, ...)`: connections are made on first use. `timeout` (s): the socket and
  connect timeouts (none by default: a blocking read such as a pub/sub listen must not time
  out); `max_connections`: a bounded pool that waits for a free connection under a burst
  (rather than opening one per caller, or failing).
- `connected(url, ...)`: the same, pinged, and closed again when the ping fails, so a store
  never holds a client to a dead server.
- `subscribe_forever(client, channel, on_message, what)`: a pub/sub subscription kept for
  ever (subscribed again a second after a lost connection, logged with `what`), each
  message's data handed to `on_message` (the shard leases' announcements, the timers' sync).

Replies are bytes (no `decode_responses`): every user decodes what it reads itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

log = logging.getLogger("gateway.redis_client")


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


async def subscribe_forever(
    client: aioredis.Redis,
    channel: str,
    on_message: Callable[[object], Awaitable[None] | None],
    what: str,
) -> None:
    """Hand every message published on `channel` to `on_message`, until cancelled."""
    while True:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel)
            async for message in pubsub.listen():
                pending = on_message(message.get("data"))
                if pending is not None:
                    await pending
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s lost (%s)", what, exc.__class__.__name__)
            await asyncio.sleep(1.0)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
