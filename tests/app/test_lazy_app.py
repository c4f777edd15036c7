"""`asgi_app:app`: importable without settings, built once at the lifespan startup, and a
bad environment answered `lifespan.startup.failed` (the server exits before serving)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import asgi_app
from asgi_app.http import App, Request, Response
from asgi_app.http.types import ASGIApp, Message
from asgi_app.lazy import LazyApp
from asgi_app.settings import SettingsError
from tests.support.harness.process import ROOT, clean_env


def test_importing_the_package_reads_no_settings() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import asgi_app; print(type(asgi_app.app).__name__)"],
        env=clean_env(APP_ENV="production", AUTH_TOKEN="short"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "LazyApp")
    assert isinstance(asgi_app.app, LazyApp)


class Lifespan:
    def __init__(self) -> None:
        self.sent: list[Message] = []
        self._incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def receive(self) -> Message:
        return self._incoming.pop(0)

    async def send(self, message: Message) -> None:
        self.sent.append(message)


async def test_bad_settings_fail_the_startup_and_are_printed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def build() -> ASGIApp:
        raise SettingsError(["AUTH_TOKEN: must be at least 32 characters long"])

    lazy = LazyApp(build)
    lifespan = Lifespan()
    await lazy({"type": "lifespan"}, lifespan.receive, lifespan.send)
    assert [m["type"] for m in lifespan.sent] == ["lifespan.startup.failed"]
    assert "AUTH_TOKEN: must be at least 32 characters long" in capsys.readouterr().err
    assert lazy.built is None


async def test_built_once_then_every_scope_goes_to_the_app() -> None:
    builds: list[int] = []

    async def hello(req: Request, res: Response) -> None:
        res.text("hi")

    def build() -> ASGIApp:
        builds.append(1)
        app = App()
        app.get("/", hello)
        return app

    lazy = LazyApp(build)
    lifespan = Lifespan()
    await lazy({"type": "lifespan"}, lifespan.receive, lifespan.send)
    assert [m["type"] for m in lifespan.sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    sent: list[Message] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    await lazy(scope, receive, send)
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"hi"
    assert builds == [1] and isinstance(lazy.built, App)
