"""A small app with the overlay module and the framework, wired the way create_app does.

Also the `--factory` target of the uvicorn subprocesses of the two-node test: it reads
OVERLAY_TEST_STATE_DIR and OVERLAY_TEST_REDIS_URL from the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from asgi_app.http import App
from asgi_app.http.middleware import (
    cors,
    rate_limit,
    require_origin,
    require_token,
    security_headers,
)
from asgi_app.overlay.realtime import OverlayRealtime
from asgi_app.overlay.routes import CLIENT_JS, register
from asgi_app.overlay.store import REDIS_TIMEOUT_SECONDS, OverlayStore, build_store
from gateway.redis_client import redis_client

TOKEN = "overlay-test-token-0123456789abcdefghij"
ORIGIN = "http://main-app.test"


@dataclass
class OverlayApp:
    app: App
    store: OverlayStore
    realtime: OverlayRealtime


def build(
    state_dir: Path,
    *,
    redis_url: str | None = None,
    per_minute: int = 10_000,
    client_js: Path = CLIENT_JS,
    ping_interval: float = 25.0,
    ping_timeout: float = 60.0,
) -> OverlayApp:
    redis = redis_client(redis_url, timeout=REDIS_TIMEOUT_SECONDS) if redis_url else None
    store = build_store(state_dir, redis)
    realtime = OverlayRealtime(
        store,
        auth_tokens=[TOKEN],
        origin_url=ORIGIN,
        redis_url=redis_url,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
    )
    app = App()
    app.use(security_headers())
    app.use(cors(ORIGIN))
    guarded = app.group(require_origin(ORIGIN), require_token(TOKEN), rate_limit(per_minute))
    register(app, guarded=guarded, store=store, realtime=realtime, client_js=client_js)
    app.mount("/socket.io", realtime.asgi)
    app.on_startup(store.open)
    app.on_shutdown(realtime.close)
    app.on_shutdown(store.close)
    return OverlayApp(app, store, realtime)


def create_app() -> App:
    """uvicorn --factory tests.overlay.app_factory:create_app"""
    redis_url = os.environ.get("OVERLAY_TEST_REDIS_URL") or None
    return build(Path(os.environ["OVERLAY_TEST_STATE_DIR"]), redis_url=redis_url).app
