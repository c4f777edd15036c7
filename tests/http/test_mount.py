"""Mounted apps go through the global middleware chain over HTTP: request id, headers added
after the app answered, access logs; their body is streamed on as it comes."""

from __future__ import annotations

import asyncio

import httpx
from websockets.asyncio.client import connect

from asgi_app.http import App, Next, Request, Response
from asgi_app.http.middleware import security_headers
from asgi_app.http.types import Receive, Scope, Send
from tests.support.harness.server import read_request, serve


async def mounted(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "hello"})
        await send({"type": "websocket.close", "code": 1000})
        return
    path = scope["path"]
    if path == "/io/boom":
        raise RuntimeError("mounted app broke")
    if path == "/io/stream":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"x-app", b"1")],
            }
        )
        for part in (b"one ", b"two ", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.3)
        await send({"type": "http.response.body", "body": b""})
        return
    body, _headers = await read_request(scope, receive)
    await send(
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body) + 4).encode()),
                (b"set-cookie", b"a=1"),
                (b"set-cookie", b"b=2"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"got " + body})


def _app(seen: list[tuple[str, int]]) -> App:
    app = App()

    async def log(req: Request, res: Response, next: Next) -> None:
        await next()
        seen.append((req.path, res.status_code))

    app.use(log)
    app.use(security_headers())
    app.mount("/io", mounted)
    return app


async def test_http_through_a_mount_gets_the_global_middleware() -> None:
    seen: list[tuple[str, int]] = []
    async with serve(_app(seen)) as base, httpx.AsyncClient(base_url=base) as c:
        r = await c.post("/io/echo", content=b"abc", headers={"X-Request-Id": "mount-1"})
        head = await c.head("/io/echo")
    assert (r.status_code, r.text) == (201, "got abc")
    assert r.headers["x-request-id"] == "mount-1"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert head.status_code == 201 and head.content == b""
    assert seen == [("/io/echo", 201), ("/io/echo", 201)]


async def test_a_mounted_body_is_streamed_as_it_comes() -> None:
    seen: list[tuple[str, int]] = []
    async with (
        serve(_app(seen)) as base,
        httpx.AsyncClient(base_url=base) as c,
        c.stream("GET", "/io/stream") as r,
    ):
        loop = asyncio.get_running_loop()
        started = loop.time()
        parts = []
        async for chunk in r.aiter_raw():
            parts.append((chunk, loop.time() - started))
    assert r.headers["x-app"] == "1" and r.headers["x-content-type-options"] == "nosniff"
    assert b"".join(p for p, _ in parts) == b"one two three"
    assert parts[0][1] < 0.25, "the first chunk came before the app finished"


async def test_a_mounted_app_that_raises_answers_a_problem() -> None:
    seen: list[tuple[str, int]] = []
    async with serve(_app(seen)) as base, httpx.AsyncClient(base_url=base) as c:
        r = await c.get("/io/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.json()["request_id"] == r.headers["x-request-id"]
    assert seen == [("/io/boom", 500)]


async def test_websockets_still_reach_the_mount_directly() -> None:
    seen: list[tuple[str, int]] = []
    async with serve(_app(seen)) as base:
        async with connect(base.replace("http://", "ws://") + "/io/ws") as ws:
            assert await ws.recv() == "hello"
    assert seen == []


async def test_an_error_after_the_mount_answered_stops_the_mounted_app() -> None:
    stopped = asyncio.Event()

    async def endless(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            while True:
                await send({"type": "http.response.body", "body": b"x", "more_body": True})
        except asyncio.CancelledError:
            stopped.set()
            raise

    async def fails_after(req: Request, res: Response, next: Next) -> None:
        await next()
        raise RuntimeError("after the mount")

    app = App()
    app.use(fails_after)
    app.mount("/io", endless)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as c:
        r = await c.get("/io/x")
        assert r.status_code == 500 and r.json()["status"] == 500
        await asyncio.wait_for(stopped.wait(), 5)
