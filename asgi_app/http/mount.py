"""A mounted ASGI app run as the endpoint of the middleware chain.

The mounted app writes to a `send` of ours: its response start becomes `res.status` and
`res.headers` (so the middleware above can still add to them when the chain unwinds), and
its body is handed on as `res.stream`, chunk by chunk, as it comes. Websocket scopes do not
come here: they have no HTTP answer to decorate and go to the mounted app directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from asgi_app.http.request import Request
from asgi_app.http.response import Response
from asgi_app.http.types import ASGIApp, Handler, Message


def mounted_endpoint(app: ASGIApp) -> Handler:
    async def call_mounted(req: Request, res: Response) -> None:
        started: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        body: asyncio.Queue[Message] = asyncio.Queue(maxsize=1)

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                if not started.done():
                    started.set_result(message)
            elif message["type"] == "http.response.body":
                await body.put(message)

        task: asyncio.Task[None] = asyncio.ensure_future(app(req.scope, req.receive, capture))
        try:
            waiting: set[asyncio.Future[Any]] = {started, task}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not started.done():
            started.cancel()
            task.result()  # the mounted app's own error, answered 500 by the chain
            raise RuntimeError("the mounted app returned without a response")
        start = started.result()
        res.status(start["status"])
        for raw_name, raw_value in start.get("headers", ()):
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name == "set-cookie":
                res.raw_headers.append((b"set-cookie", raw_value))
            elif name in res.headers:
                res.headers[name] = f"{res.headers[name]}, {value}"
            else:
                res.headers[name] = value
        first = await _next_body(body, task)
        if first is not None and not first.get("more_body", False):
            # The whole body in one message (Engine.IO's answers): say how long it is.
            if "content-length" not in res.headers and req.method != "HEAD":
                res.headers["content-length"] = str(len(first.get("body", b"")))
        res.stream = MountedBody(first, body, task)

    return call_mounted


async def _next_body(queue: asyncio.Queue[Message], task: asyncio.Task[None]) -> Message | None:
    """The next body message, or None when the app ended without one (its error raised)."""
    getter = asyncio.ensure_future(queue.get())
    waiting: set[asyncio.Future[Any]] = {getter, task}
    try:
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        getter.cancel()
        task.cancel()
        raise
    if getter.done():
        return getter.result()
    getter.cancel()
    task.result()
    return None


class MountedBody:
    """The rest of a mounted app's body; `aclose()` stops the app when it is not sent."""

    def __init__(
        self, first: Message | None, queue: asyncio.Queue[Message], task: asyncio.Task[None]
    ) -> None:
        self._first, self._queue, self._task = first, queue, task

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _body(self._first, self._queue, self._task)

    async def aclose(self) -> None:
        if not self._task.done():
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def _body(
    message: Message | None, queue: asyncio.Queue[Message], task: asyncio.Task[None]
) -> AsyncIterator[bytes]:
    try:
        while message is not None:
            yield message.get("body", b"")
            if not message.get("more_body", False):
                break
            message = await _next_body(queue, task)
        await task
    finally:
        if not task.done():
            task.cancel()
