"""A tiny scriptable Discord REST stand-in (ASGI, served on loopback) for the REST client tests.

Records every request (monotonic arrival time, headers, body) and answers from per-route
scripts; unscripted requests get 200 `{}`.
"""

from __future__ import annotations

import asyncio
import re
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
class Reply:
    status: int = 200
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    peer: str = ""  # the client's address and port: one per connection

    @property
    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


class DiscordStub:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._scripts: list[tuple[str, re.Pattern[str], deque[Reply]]] = []
        self.arrived = asyncio.Event()

    def script(self, method: str, pattern: str, *replies: Reply) -> None:
        """The next requests matching `method` + `pattern` (a regex on the path) get `replies`."""
        self._scripts.append((method, re.compile(pattern), deque(replies)))

    def matching(self, method: str, pattern: str) -> list[Recorded]:
        regex = re.compile(pattern)
        return [r for r in self.requests if r.method == method and regex.search(r.path)]

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body, headers = await read_request(scope, receive)
        method, path = scope["method"], scope["path"]
        peer = ":".join(str(part) for part in scope.get("client") or ())
        self.requests.append(Recorded(method, path, headers, body, time.monotonic(), peer))
        self.arrived.set()
        reply = Reply()
        for m, regex, replies in self._scripts:
            if m == method and regex.search(path) and replies:
                reply = replies.popleft()
                break
        if reply.delay:
            await asyncio.sleep(reply.delay)
        payload = orjson.dumps(reply.json if reply.json is not None else {})
        out = [(b"content-type", b"application/json")]
        out += [(k.encode(), v.encode()) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": out})
        await send({"type": "http.response.body", "body": payload})
