"""LazyApp: an ASGI callable that builds the real app on first use.

`asgi_app:app` must be importable without settings (tests and tools import the package), yet
a bad environment must stop the server before it serves anything. The build happens at the
lifespan startup, which uvicorn and gunicorn's worker run before they listen: invalid
settings are printed (names, never values) and answered `lifespan.startup.failed`, so the
server exits non-zero ("Application startup failed") without serving. Run without a
lifespan (`--lifespan off`), the first request builds it instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from asgi_app.http.types import ASGIApp, Receive, Scope, Send
from asgi_app.settings import SettingsError


class LazyApp:
    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self._build = build
        self._app: ASGIApp | None = None

    @property
    def built(self) -> Any:
        """The real app once built (None before)."""
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app
        if app is None:
            try:
                app = self._app = self._build()
            except SettingsError as error:
                print(str(error), file=sys.stderr, flush=True)
                if scope["type"] != "lifespan":
                    raise RuntimeError("invalid settings: the app cannot be built") from None
                await receive()  # lifespan.startup
                await send({"type": "lifespan.startup.failed", "message": "invalid settings"})
                return
        await app(scope, receive, send)
