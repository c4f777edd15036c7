"""GuardedHttpToolsProtocol (asgi_app/worker.py) on its own: its limits cut what they should
and nothing a real client does (big bodies in one write, big-but-legal headers, keep-alive,
slow answers, WebSockets)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets

from asgi_app.worker import GuardedHttpToolsProtocol
from tests.support.campaigns.abuse.attacks import Target, read_response
from tests.support.harness.server import serve


class Quick(GuardedHttpToolsProtocol):
    head_timeout = 0.5
    body_timeout = 0.8


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": message.get("text", "")})
    if scope["path"] == "/slow":
        await asyncio.sleep(1.5)  # longer than both timeouts: the app's own time is free
    size = 0
    more = True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = str(size).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def server() -> AsyncIterator[Target]:
    async with serve(app, http=Quick, lifespan="off", timeout_keep_alive=5) as url:
        yield Target("127.0.0.1", int(url.rsplit(":", 1)[1]), "127.0.0.1")


async def exchange(target: Target, raw: bytes) -> tuple[int, bytes]:
    reader, writer = await target.open()
    try:
        writer.write(raw)
        return await asyncio.wait_for(read_response(target, reader), 5)
    finally:
        writer.close()


@pytest.mark.parametrize("kib", [70, 100, 300])
async def test_a_large_body_in_the_same_write_as_the_head_is_not_counted_as_head(
    server: Target, kib: int
) -> None:
    """70 and 100 KiB: the whole request arrives in one read, so the request is complete
    (and the head reading again, for the next one) when that read was counted; the answer
    must still come (the connection was closed under it, 0 bytes read)."""
    body = b"x" * (kib * 1024)
    head = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body)
    assert await exchange(server, head + body) == (200, str(len(body)).encode())


async def test_headers_up_to_the_limit_pass_and_beyond_it_get_431(server: Target) -> None:
    def request(size: int) -> bytes:
        return b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * size + b"\r\n\r\n"

    assert (await exchange(server, request(60 * 1024)))[0] == 200
    # Sent in pieces, as a client trickling it would.
    reader, writer = await server.open()
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: ")
        for _ in range(20):
            writer.write(b"a" * 8192)
            await writer.drain()
            await asyncio.sleep(0.01)
            if reader.at_eof() or len(reader._buffer):  # type: ignore[attr-defined]
                break
        status, body = await asyncio.wait_for(read_response(server, reader), 5)
    finally:
        writer.close()
    assert status == 431
    assert b"too large" in body


async def test_a_head_never_finished_gets_408_after_the_head_timeout(server: Target) -> None:
    reader, writer = await server.open()
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: t\r\n")
        for _ in range(6):  # a header line every 0.2 s keeps uvicorn's keep-alive timer off
            await asyncio.sleep(0.2)
            if reader.at_eof() or len(reader._buffer):  # type: ignore[attr-defined]
                break
            writer.write(b"X-Slow: a\r\n")
        status, _ = await asyncio.wait_for(read_response(server, reader), 5)
    finally:
        writer.close()
    assert status == 408
    assert 0.4 < loop.time() - started < 1.5


async def test_a_silent_connection_is_closed_after_the_head_timeout(server: Target) -> None:
    reader, writer = await server.open()
    try:
        status, _ = await asyncio.wait_for(read_response(server, reader), 5)
    finally:
        writer.close()
    assert status == 408


async def test_a_slow_body_is_cut_after_the_body_timeout(server: Target) -> None:
    reader, writer = await server.open()
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(20):
            await asyncio.sleep(0.1)
            if reader.at_eof():
                break
            writer.write(b"1")
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, no answer
    finally:
        writer.close()
    assert 0.7 < loop.time() - started < 1.8


async def test_keep_alive_slow_answers_and_pauses_between_requests_are_fine(
    server: Target,
) -> None:
    reader, writer = await server.open()
    try:
        for path in (b"/", b"/slow", b"/"):
            writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: t\r\n\r\n")
            assert (await asyncio.wait_for(read_response(server, reader), 5))[0] == 200
            await asyncio.sleep(0.3)  # under the head timeout, idle between requests
    finally:
        writer.close()


async def test_a_websocket_outlives_the_timeouts(server: Target) -> None:
    async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws") as ws:
        await asyncio.sleep(1.2)  # past both timeouts
        await ws.send("still here")
        assert await asyncio.wait_for(ws.recv(), 5) == "still here"
