"""ASGI scopes: mounts get http and websocket scopes unchanged, lifespan hooks, websocket 403."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from asgi_app.http import App, Request, Response
from asgi_app.http.types import Receive, Scope, Send
from tests.support.harness.server import free_port, serve

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """A raw ASGI app that reports the scope it was given."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        if scope["type"] == "websocket":
            assert (await receive())["type"] == "websocket.connect"
            await send({"type": "websocket.accept"})
            await send(
                {
                    "type": "websocket.send",
                    "text": f"{scope['path']}?{scope['query_string'].decode()}",
                }
            )
            await send({"type": "websocket.close", "code": 1000})
            return
        text = f"mounted {scope['method']} {scope['path']} root={scope.get('root_path', '')!r}"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": text.encode()})


def _app(recorder: Recorder) -> App:
    app = App()

    async def home(req: Request, res: Response) -> None:
        res.text("home")

    app.get("/", home)
    app.get("/socket.iox", home)  # only a real path-segment boundary counts
    app.mount("/socket.io", recorder)
    return app


async def test_mount_passes_http_scope_unchanged() -> None:
    recorder = Recorder()
    async with serve(_app(recorder)) as base, httpx.AsyncClient(base_url=base) as c:
        r = await c.get("/socket.io/?EIO=4&transport=polling")
        assert r.text == "mounted GET /socket.io/ root=''"
        assert (await c.post("/socket.io")).text == "mounted POST /socket.io root=''"
        assert (await c.get("/socket.iox")).text == "home"
        assert (await c.get("/")).text == "home"
    assert [s["path"] for s in recorder.scopes] == ["/socket.io/", "/socket.io"]
    assert recorder.scopes[0]["query_string"] == b"EIO=4&transport=polling"


async def test_mount_passes_websocket_scope_unchanged() -> None:
    recorder = Recorder()
    async with serve(_app(recorder)) as base:
        url = base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        async with connect(url) as ws:
            assert await ws.recv() == "/socket.io/?EIO=4&transport=websocket"
    assert recorder.scopes[0]["type"] == "websocket"


async def test_websocket_to_an_unknown_path_is_refused() -> None:
    async with serve(_app(Recorder())) as base:
        with pytest.raises(InvalidStatus) as caught:
            async with connect(base.replace("http://", "ws://") + "/elsewhere"):
                pass
    assert caught.value.response.status_code == 403


async def test_lifespan_runs_startup_in_order_and_shutdown_in_reverse() -> None:
    events: list[str] = []
    app = App()
    for name in ("a", "b", "c"):

        async def up(name: str = name) -> None:
            events.append(f"start {name}")

        async def down(name: str = name) -> None:
            events.append(f"stop {name}")

        app.on_startup(up)
        app.on_shutdown(down)

    async def home(req: Request, res: Response) -> None:
        res.text(",".join(events))

    app.get("/", home)
    async with serve(app, lifespan="on") as base, httpx.AsyncClient(base_url=base) as c:
        assert (await c.get("/")).text == "start a,start b,start c"
    assert events[3:] == ["stop c", "stop b", "stop a"]


async def _lifespan_messages(app: App) -> list[dict[str, Any]]:
    incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[dict[str, Any]] = []
    await incoming.put({"type": "lifespan.startup"})
    await incoming.put({"type": "lifespan.shutdown"})

    async def send(message: Any) -> None:
        sent.append(dict(message))

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, incoming.get, send)
    return sent


async def test_failing_startup_hook_reports_startup_failed() -> None:
    app = App()
    ran: list[str] = []

    async def first() -> None:
        ran.append("first")

    async def broken() -> None:
        raise RuntimeError("no database")

    async def never() -> None:
        ran.append("never")

    app.on_startup(first)
    app.on_startup(broken)
    app.on_startup(never)
    sent = await _lifespan_messages(app)
    assert sent == [{"type": "lifespan.startup.failed", "message": "RuntimeError: no database"}]
    assert ran == ["first"]


async def test_failing_shutdown_hook_still_runs_the_others() -> None:
    app = App()
    ran: list[str] = []

    async def ok() -> None:
        ran.append("ok")

    async def broken() -> None:
        raise RuntimeError("flush failed")

    app.on_shutdown(ok)
    app.on_shutdown(broken)
    sent = await _lifespan_messages(app)
    assert sent == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.failed", "message": "RuntimeError: flush failed"},
    ]
    assert ran == ["ok"]


def test_uvicorn_exits_non_zero_when_startup_fails() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.http.failing_startup_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(free_port()),
            "--lifespan",
            "on",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "settings are missing: AUTH_TOKEN" in proc.stderr
    assert "Application startup failed" in proc.stderr
