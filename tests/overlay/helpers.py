"""Helpers of the overlay tests: a served overlay app, Socket.IO clients, sample states."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import socketio

from tests.overlay.app_factory import TOKEN, OverlayApp, build
from tests.support.harness.server import serve

AUTH = {"Authorization": TOKEN}


def team(name: str, score: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "score": score,
        "name": name,
        "primaryColor": "#1d4ed8",
        "secondaryColor": "#ffffff",
        "logoUrl": "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E",
        **extra,
    }


def overlay_data(blue: int = 0, red: int = 0, max_score: int = 2, **extra: Any) -> dict[str, Any]:
    return {
        "blue": team("Blue Team", blue),
        "red": team("Red Team", red),
        "maxScore": max_score,
        **extra,
    }


@dataclass
class Served:
    url: str
    parts: OverlayApp
    http: httpx.AsyncClient

    async def post(self, state: dict[str, Any], name: str | None = None) -> httpx.Response:
        path = "/overlay" if name is None else f"/overlay/{name}"
        return await self.http.post(path, json=state, headers=AUTH)


@asynccontextmanager
async def served(state_dir: Path, **options: Any) -> AsyncIterator[Served]:
    parts = build(state_dir, **options)
    async with serve(parts.app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        try:
            yield Served(url, parts, http)
        finally:
            # Disconnect the Socket.IO clients first so that uvicorn stops at once.
            await parts.realtime.close()


@dataclass
class Client:
    """A python-socketio AsyncClient on /overlay that queues every `overlay` event."""

    sio: socketio.AsyncClient
    events: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)

    async def next_state(self, timeout: float = 10) -> Any:
        return await asyncio.wait_for(self.events.get(), timeout)


@asynccontextmanager
async def connected(
    url: str,
    *,
    auth: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    query: str = "",
    namespace: str = "/overlay",
    transport: str = "websocket",
) -> AsyncIterator[Client]:
    """Connect (raises socketio.exceptions.ConnectionError when refused); always cleaned up."""
    client = Client(socketio.AsyncClient(reconnection=False))
    client.sio.on("overlay", client.events.put_nowait, namespace=namespace)
    try:
        await client.sio.connect(
            url + query,
            auth=auth,
            headers=headers or {},
            namespaces=[namespace],
            transports=[transport],
            wait_timeout=10,
        )
        yield client
    finally:
        await client.sio.disconnect()
        if client.sio.eio.http is not None and not client.sio.eio.http.closed:
            await client.sio.eio.http.close()
