"""A scriptable stand-in main app (ASGI, served on loopback): records every forward and
answers with the next scripted status."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.harness.server import read_request

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Forwarded:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class MainApp:
    """Stand-in main app: answers each request with the next scripted status (default 200)
    after `delay` seconds, with `body`."""

    delay: float = 0.0
    statuses: deque[int] = field(default_factory=deque)
    body: bytes = b'{"ok": true}'
    requests: list[Forwarded] = field(default_factory=list)
    finished: int = 0

    def script(self, *statuses: int) -> None:
        self.statuses.extend(statuses)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body, headers = await read_request(scope, receive)
        self.requests.append(Forwarded(scope["path"], headers, body, time.monotonic()))
        status = self.statuses.popleft() if self.statuses else 200
        if self.delay:
            await asyncio.sleep(self.delay)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": self.body})
        self.finished += 1
