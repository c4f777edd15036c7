"""A real redis-server on a loopback port, without persistence, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from bench.harness.server import free_port


@asynccontextmanager
async def redis_server(binary: str = "redis-server", timeout: float = 20) -> AsyncIterator[str]:
    """Start `binary`, wait until it answers PING, yield its URL; stop it afterwards."""
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    try:
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
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
