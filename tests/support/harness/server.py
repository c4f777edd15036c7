"""Run an ASGI app under a real uvicorn server on a loopback port, inside the caller's loop;
read a request in an ASGI stand-in."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def read_request(scope: Any, receive: Any) -> tuple[bytes, dict[str, str]]:
    """The whole body of an ASGI http request and its headers (names lower-cased)."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return body, {k.decode().lower(): v.decode() for k, v in scope["headers"]}


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test owns signals
        pass


@asynccontextmanager
async def serve(app: Any, **config: Any) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1:<free port>; yields the base URL ("http://127.0.0.1:P")."""
    options: dict[str, Any] = {"host": "127.0.0.1", "port": free_port(), "log_level": "warning"}
    options.update(config)
    port = options["port"]
    server = _Server(uvicorn.Config(app, **options))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)
