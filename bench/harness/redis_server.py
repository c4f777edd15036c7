"""A real redis-server on a loopback port, without persistence, for tests and benchmarks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from bench.harness.process import running
from bench.harness.server import free_port


@asynccontextmanager
async def redis_server(binary: str = "redis-server", timeout: float = 20) -> AsyncIterator[str]:
    """Start `binary`, wait until it answers PING, yield its URL; stop it afterwards."""
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with running(args):
        url = f"redis://127.0.0.1:{port}/0"
        client = aioredis.Redis.from_url(url)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                try:
                    if await client.ping():
                        break
                except (OSError, aioredis.ConnectionError):
                    pass
                if loop.time() > deadline:
                    raise AssertionError("redis-server did not answer PING")
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        yield url
