"""A Redis client that is known to answer: `connected(url)` builds it from REDIS_URL, pings it,
and closes it again when the ping fails, so a store never holds a client to a dead server."""

from __future__ import annotations

import redis.asyncio as aioredis


async def connected(url: str) -> aioredis.Redis:
    client = aioredis.Redis.from_url(url)
    try:
        await client.ping()
    except BaseException:
        await client.aclose()
        raise
    return client
