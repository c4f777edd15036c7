"""A real redis-server on a loopback port that a test can stop and start again (same port)."""

from __future__ import annotations

import asyncio
import subprocess

import redis.asyncio as aioredis

from bench.harness.server import free_port
from tests.support.tools import require_tool


class RedisProcess:
    def __init__(self) -> None:
        self.binary = require_tool("redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> RedisProcess:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no"]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        client = aioredis.Redis.from_url(self.url)
        try:
            for _ in range(200):
                try:
                    if await client.ping():
                        return self
                except (OSError, aioredis.ConnectionError):
                    await asyncio.sleep(0.05)
            raise AssertionError("redis-server did not answer")
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
