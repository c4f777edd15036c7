"""A scriptable stand-in main app (ASGI, served on loopback): records every forward and
answers with the next scripted status."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.support.harness.server import read_request

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Forwarded:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass(frozen=True)
class Scripted:
    """One scripted answer: its status, body (JSON-encoded when not bytes) and delay."""

    status: int = 200
    body: Any = None
    delay: float | None = None


@dataclass
class MainApp:
    """Stand-in main app: answers each request with the next scripted answer (`answer()`), or
    the next scripted status (default 200) after `delay` seconds, with `body`."""

    delay: float = 0.0
    statuses: deque[int] = field(default_factory=deque)
    body: bytes = b'{"ok": true}'
    requests: list[Forwarded] = field(default_factory=list)
    finished: int = 0
    answers: deque[Scripted] = field(default_factory=deque)

    def script(self, *statuses: int) -> None:
        self.statuses.extend(statuses)

    def answer(self, body: Any = None, *, delay: float | None = None, status: int = 200) -> None:
        """Script the next answer: e.g. `answer({"type": 9, "data": {...}}, delay=0.02)`."""
        self.answers.append(Scripted(status, body, delay))

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body, headers = await read_request(scope, receive)
        self.requests.append(Forwarded(scope["path"], headers, body, time.monotonic()))
        status, body, delay = 200, self.body, self.delay
        if self.answers:
            scripted = self.answers.popleft()
            status = scripted.status
            if scripted.body is not None:
                raw = scripted.body
                body = raw if isinstance(raw, bytes) else orjson.dumps(raw)
            if scripted.delay is not None:
                delay = scripted.delay
        elif self.statuses:
            status = self.statuses.popleft()
        if delay:
            await asyncio.sleep(delay)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})
        self.finished += 1
