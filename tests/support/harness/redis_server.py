"""A real redis-server on a loopback port, without persistence, for tests and benchmarks:
`redis_server()` for one that lives as long as a block, `RedisProcess` for one a test stops
and starts again on the same port (an outage)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from tests.support.harness.server import free_port


class RedisProcess:
    def __init__(self, binary: str = "redis-server") -> None:
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    async def start(self, timeout: float = 20) -> RedisProcess:
        """Start it (again) and wait until it answers PING."""
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no"]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        client = aioredis.Redis.from_url(self.url)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                try:
                    if await client.ping():
                        return self
                except (OSError, aioredis.ConnectionError):
                    pass
                if loop.time() > deadline or self._proc.poll() is not None:
                    self.stop()
                    raise AssertionError("redis-server did not answer PING")
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None


@asynccontextmanager
async def redis_server(binary: str = "redis-server", timeout: float = 20) -> AsyncIterator[str]:
    """Start `binary`, wait until it answers PING, yield its URL; stop it afterwards."""
    server = await RedisProcess(binary).start(timeout)
    try:
        yield server.url
    finally:
        server.stop()
