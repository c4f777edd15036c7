"""Overlay benchmarks, each against a peer measured in the same run.

1. fan-out: time from a POST /overlay to the last of N connected Socket.IO clients receiving
   the update, against a bare `sio.emit` of the same state to the same clients.
   The server runs in this process; the clients run in a subprocess and report the moment
   (CLOCK_MONOTONIC, shared by both processes) the last one received each update.
2. throughput: POST /overlay requests per second on our framework + validation library
   against the same route written with Starlette + pydantic (same checks, same store, same
   Socket.IO publish), each served by uvicorn in its own process, driven by a small
   keep-alive HTTP/1.1 client.

    .venv/bin/python bench/overlay_bench.py [--clients 500] [--rounds 15] [--requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "bench-token-0123456789abcdefghijklmnop"
ORIGIN = "http://main-app.bench"


def sample_state(seq: int) -> dict[str, Any]:
    def team(name: str, score: int) -> dict[str, Any]:
        return {
            "score": score,
            "name": name,
            "primaryColor": "#1d4ed8",
            "secondaryColor": "#ffffff",
            "logoUrl": "https://example.invalid/logo.png",
        }

    return {
        "blue": team("Blue", seq % 3),
        "red": team("Red", (seq + 1) % 3),
        "maxScore": 2,
        "cameraControlsCover": False,
        "seq": seq,
    }


# --------------------------------------------------------------------------------------------
# the two apps
def our_app(state_dir: Path, *, guard: bool = True) -> Any:
    from asgi_app.http import App
    from asgi_app.http.middleware import require_origin, require_token, security_headers
    from asgi_app.overlay.realtime import OverlayRealtime
    from asgi_app.overlay.routes import register
    from asgi_app.overlay.store import FileStore

    store = FileStore(state_dir)
    realtime = OverlayRealtime(store, auth_tokens=[TOKEN], origin_url=ORIGIN)
    app = App()
    app.use(security_headers())
    guarded = app.group(require_origin(ORIGIN), require_token(TOKEN)) if guard else app
    register(app, guarded=guarded, store=store, realtime=realtime)
    app.mount("/socket.io", realtime.asgi)
    app.on_startup(store.open)
    app.on_shutdown(realtime.close)
    return app, realtime


def starlette_app(state_dir: Path) -> Any:
    from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Mount, Route

    from asgi_app.overlay.realtime import OverlayRealtime
    from asgi_app.overlay.store import FileStore

    class Team(BaseModel):
        model_config = ConfigDict(extra="allow", strict=True)
        score: int = Field(ge=0)
        name: str = Field(min_length=1)
        primaryColor: str = Field(min_length=1)
        secondaryColor: str = Field(min_length=1)
        logoUrl: str = Field(min_length=1)

    class OverlayData(BaseModel):
        model_config = ConfigDict(extra="allow", strict=True)
        blue: Team
        red: Team
        maxScore: int = Field(ge=1)
        cameraControlsCover: bool | None = None

        @model_validator(mode="after")
        def cross_field(self) -> OverlayData:
            if self.blue.name == self.red.name:
                raise ValueError("the two teams must have different names")
            if self.blue.score > self.maxScore or self.red.score > self.maxScore:
                raise ValueError("score must not exceed maxScore")
            return self

    store = FileStore(state_dir)
    realtime = OverlayRealtime(store, auth_tokens=[TOKEN], origin_url=ORIGIN)
    expected = TOKEN.encode()
    security = {
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
    }

    def problem(status: int, detail: str, **extra: Any) -> Response:
        body = {"type": "about:blank", "title": detail, "status": status, "detail": detail}
        return JSONResponse(
            {**body, **extra}, status, media_type="application/problem+json", headers=security
        )

    async def post_overlay(request: Request) -> Response:
        origin = request.headers.get("origin")
        if origin is not None and origin != ORIGIN:
            return problem(403, "This origin is not allowed")
        presented = request.headers.get("authorization", "")
        if presented[:7].lower() == "bearer ":
            presented = presented[7:]
        if not hmac.compare_digest(presented.encode(), expected):
            return problem(401, "A valid token is required")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return problem(415, "This route takes an application/json body")
        try:
            data = OverlayData.model_validate_json(await request.body())
        except ValidationError as exc:
            return problem(422, "invalid", errors=exc.errors(include_input=False))
        state = data.model_dump(exclude_unset=True)
        name = request.path_params.get("name", "default")
        await store.set(name, state)
        clients = await realtime.publish(name, state)
        return JSONResponse({"ok": True, "overlay": name, "clients": clients}, headers=security)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        yield
        await realtime.close()

    app = Starlette(
        routes=[
            Route("/overlay", post_overlay, methods=["POST"]),
            Route("/overlay/{name}", post_overlay, methods=["POST"]),
            Mount("/socket.io", realtime.asgi),
        ],
        lifespan=lifespan,
    )
    return app


# --------------------------------------------------------------------------------------------
# fan-out
async def run_clients(url: str, count: int) -> None:
    """Subprocess: `count` clients; after each complete update prints `seq last_monotonic`."""
    import socketio

    received: dict[int, list[float]] = {}
    clients: list[socketio.AsyncClient] = []

    def handler(data: dict[str, Any]) -> None:
        now = time.monotonic()
        seq = data.get("seq")
        if not isinstance(seq, int):
            return
        times = received.setdefault(seq, [])
        times.append(now)
        if len(times) == count:
            print(f"{seq} {max(times)!r}", flush=True)
            del received[seq]

    async def one() -> None:
        client = socketio.AsyncClient(reconnection=False)
        client.on("overlay", handler, namespace="/overlay")
        await client.connect(
            url,
            auth={"token": TOKEN},
            namespaces=["/overlay"],
            transports=["websocket"],
            wait_timeout=30,
        )
        clients.append(client)

    for start in range(0, count, 50):
        await asyncio.gather(*(one() for _ in range(start, min(count, start + 50))))
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for client in clients:
        await client.disconnect()


async def fan_out(clients: int, rounds: int) -> tuple[float, float]:
    import httpx

    from tests.support.harness.server import serve

    with tempfile.TemporaryDirectory() as tmp:
        app, realtime = our_app(Path(tmp))
        async with serve(app) as url:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--client-process",
                url,
                "--clients",
                str(clients),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            assert proc.stdout is not None and proc.stdin is not None
            while (await proc.stdout.readline()).strip() != b"ready":
                pass
            while realtime.client_count("default") < clients:
                await asyncio.sleep(0.05)
            headers = {"Authorization": TOKEN, "Content-Type": "application/json"}
            post_times: list[float] = []
            emit_times: list[float] = []
            seq = 0
            async with httpx.AsyncClient(base_url=url) as http:
                for _ in range(2 + rounds):  # two warm-up rounds of each
                    for kind in ("post", "emit"):
                        seq += 1
                        state = sample_state(seq)
                        body = json.dumps(state).encode()
                        start = time.monotonic()
                        if kind == "post":
                            answer = await http.post("/overlay", content=body, headers=headers)
                            assert answer.json()["clients"] == clients, answer.text
                        else:
                            await realtime.sio.emit(
                                "overlay", state, to="default", namespace="/overlay"
                            )
                        line = (await proc.stdout.readline()).split()
                        assert int(line[0]) == seq
                        elapsed = float(line[1]) - start
                        if seq > 4:
                            (post_times if kind == "post" else emit_times).append(elapsed)
            proc.stdin.close()
            await proc.wait()
            await realtime.close()
    return statistics.median(post_times), statistics.median(emit_times)


# --------------------------------------------------------------------------------------------
# throughput
def serve_forever(kind: str, port: int, state_dir: Path) -> None:
    import uvicorn

    app = our_app(state_dir)[0] if kind == "ours" else starlette_app(state_dir)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def hammer(port: int, requests: int, connections: int) -> float:
    body = json.dumps(sample_state(1)).encode()
    head = (
        f"POST /overlay HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {TOKEN}\r\n"
        f"Origin: {ORIGIN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    request = head + body
    left = requests

    async def worker() -> None:
        nonlocal left
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while left > 0:
            left -= 1
            writer.write(request)
            status_and_headers = await reader.readuntil(b"\r\n\r\n")
            if not status_and_headers.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(status_and_headers[:200].decode())
            length = 0
            for line in status_and_headers.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return requests / (time.perf_counter() - start)


async def throughput(kind: str, requests: int, connections: int) -> float:
    from tests.support.harness.server import free_port

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind, "--port", str(port), "--state-dir", tmp]
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.05)
            await hammer(port, min(2000, requests // 5), connections)  # warm-up
            return await hammer(port, requests, connections)
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--client-process", metavar="URL")
    parser.add_argument("--serve", choices=("ours", "starlette"))
    parser.add_argument("--port", type=int)
    parser.add_argument("--state-dir", type=Path)
    args = parser.parse_args()
    if args.client_process:
        asyncio.run(run_clients(args.client_process, args.clients))
        return
    if args.serve:
        serve_forever(args.serve, args.port, args.state_dir)
        return

    post, emit = asyncio.run(fan_out(args.clients, args.rounds))
    print(f"fan-out to {args.clients} clients, median of {args.rounds} rounds:")
    print(f"  POST /overlay -> last client  {post * 1000:8.2f} ms")
    print(f"  bare sio.emit -> last client  {emit * 1000:8.2f} ms")
    print(f"  ratio POST / emit             {post / emit:8.2f}x   (target <= 1.3x)")

    results: dict[str, list[float]] = {"ours": [], "starlette": []}
    for _ in range(2):  # alternate to spread machine noise over both
        for kind in ("ours", "starlette"):
            results[kind].append(asyncio.run(throughput(kind, args.requests, args.connections)))
    ours, peer = max(results["ours"]), max(results["starlette"])
    print(f"POST /overlay throughput ({args.requests} requests, {args.connections} connections):")
    print(f"  ours (asgi_app.http + validation) {ours:9.0f} req/s")
    print(f"  Starlette + pydantic              {peer:9.0f} req/s")
    print(f"  ratio ours / Starlette            {ours / peer:9.2f}x  (target >= 1.0x)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
