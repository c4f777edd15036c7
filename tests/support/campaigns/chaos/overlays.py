"""Overlay side of the soak: Socket.IO clients on a few overlays and a steady poster.

Every POST carries a running number (`chaosSeq`, a passthrough key, and the blue score), so
"the client ends with the last state" is an exact comparison with the last POST that got 200.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import socketio

LOGO = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"


def overlay_state(n: int, name: str) -> dict[str, Any]:
    def team(label: str, score: int) -> dict[str, Any]:
        return {
            "score": score,
            "name": f"{label} {name}",
            "primaryColor": "#1d4ed8",
            "secondaryColor": "#ffffff",
            "logoUrl": LOGO,
        }

    return {
        "blue": team("Blue", n),
        "red": team("Red", n // 2),
        "maxScore": 10**9,
        "chaosSeq": n,
    }


@dataclass
class OverlayClient:
    overlay: str
    sio: socketio.AsyncClient
    last: Any = None
    received: int = 0
    connects: int = 0


@dataclass
class OverlayFleet:
    url: str
    token: str
    names: list[str]
    per_overlay: int
    notify: Callable[[], None] = lambda: None
    clients: list[OverlayClient] = field(default_factory=list)
    last_ok: dict[str, dict[str, Any]] = field(default_factory=dict)
    posts_ok: int = 0
    posts_failed: int = 0
    post_latencies: list[float] = field(default_factory=list)

    async def connect(self) -> None:
        async def one(name: str) -> OverlayClient:
            sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.2)
            client = OverlayClient(name, sio)

            async def on_overlay(data: Any) -> None:
                client.last = data
                client.received += 1
                self.notify()

            async def on_connect() -> None:
                client.connects += 1

            sio.on("overlay", on_overlay, namespace="/overlay")
            sio.on("connect", on_connect, namespace="/overlay")
            await sio.connect(
                self.url,
                auth={"token": self.token, "overlay": name},
                namespaces=["/overlay"],
                transports=["websocket"],
                wait_timeout=20,
            )
            return client

        for name in self.names:
            batch = [one(name) for _ in range(self.per_overlay)]
            self.clients.extend(await asyncio.gather(*batch))

    async def close(self) -> None:
        for client in self.clients:
            await client.sio.disconnect()
            http = client.sio.eio.http
            if http is not None and not http.closed:
                await http.close()

    async def post_loop(self, http: httpx.AsyncClient, rate: float, stop: asyncio.Event) -> None:
        """POST one state every 1/rate s, round robin over the overlays, each awaited."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = 0
        while not stop.is_set():
            n += 1
            name = self.names[n % len(self.names)]
            state = overlay_state(n, name)
            sent_at = loop.time()
            try:
                answer = await http.post(f"/overlay/{name}", json=state)
            except httpx.HTTPError:
                self.posts_failed += 1
            else:
                if answer.status_code == 200:
                    self.posts_ok += 1
                    self.last_ok[name] = state
                    self.post_latencies.append(loop.time() - sent_at)
                else:
                    self.posts_failed += 1
            delay = start + n / rate - loop.time()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except TimeoutError:
                    pass

    def stale(self) -> list[OverlayClient]:
        """Clients whose last state is not the last accepted POST of their overlay."""
        return [c for c in self.clients if c.last != self.last_ok.get(c.overlay)]

    @property
    def reconnects(self) -> int:
        return sum(max(0, c.connects - 1) for c in self.clients)
