"""A tiny raw gateway client for the simulator's own tests (not the project's shard)."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import zstandard
from websockets.asyncio.client import ClientConnection, connect

ZLIB_SUFFIX = b"\x00\x00\xff\xff"


class RawClient:
    def __init__(self, ws: ClientConnection, compress: str | None) -> None:
        self.ws = ws
        self.compress = compress
        self._zlib = zlib.decompressobj()
        self._zstd = zstandard.ZstdDecompressor().decompressobj()
        self._buffer = bytearray()
        self.frames = 0  # WebSocket messages received

    async def send(self, payload: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(payload).decode())

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            message = await asyncio.wait_for(self.ws.recv(), timeout)
            self.frames += 1
            if isinstance(message, str):
                result: dict[str, Any] = orjson.loads(message)
                return result
            if self.compress == "zlib-stream":
                self._buffer += message
                if not self._buffer.endswith(ZLIB_SUFFIX):
                    continue
                data = self._zlib.decompress(bytes(self._buffer))
                self._buffer.clear()
            else:
                data = self._zstd.decompress(message)
            result = orjson.loads(data)
            return result

    async def recv_op(self, op: int, timeout: float = 5.0) -> dict[str, Any]:
        """Skip other payloads until one with this op arrives."""
        while True:
            payload = await self.recv(timeout)
            if payload["op"] == op:
                return payload

    async def identify(
        self, token: str, *, intents: int = 5, shard: list[int] | None = None
    ) -> None:
        d: dict[str, Any] = {
            "token": token,
            "intents": intents,
            "properties": {"os": "linux", "browser": "raw", "device": "raw"},
        }
        if shard is not None:
            d["shard"] = shard
        await self.send({"op": 2, "d": d})

    async def ready(self, token: str, **kw: Any) -> dict[str, Any]:
        """HELLO, IDENTIFY, READY; returns READY's payload."""
        hello = await self.recv()
        assert hello["op"] == 10
        await self.identify(token, **kw)
        ready = await self.recv()
        assert ready["t"] == "READY", ready
        return ready


@asynccontextmanager
async def raw_client(
    url: str, *, compress: str | None = None, path: str = "/", query: str = "v=10&encoding=json"
) -> AsyncIterator[RawClient]:
    full = f"{url}{path}?{query}" + (f"&compress={compress}" if compress else "")
    async with connect(full, compression=None, max_size=None, ping_interval=None) as ws:
        yield RawClient(ws, compress)
