"""The app factory: settings in, the whole ASGI app out (routes, middleware, lifespan)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgi_app import openapi
from asgi_app.http import App
from asgi_app.metrics import build_registry
from asgi_app.overlay import routes as overlay_routes
from asgi_app.overlay.realtime import OverlayRealtime
from asgi_app.overlay.store import build_store
from asgi_app.routes import access, discord, interactions, metrics, status
from asgi_app.services import Services
from asgi_app.settings import Settings

log = logging.getLogger("asgi_app")

#: How long /health waits for Redis to answer a PING.
HEALTH_PROBE_TIMEOUT = 1.0


class ServerApp(App):
    """The framework's App plus the services it serves (tests and tools reach them here)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(body_limit=settings.body_limit_bytes)
        self.settings = settings
        self.services = Services(settings)


def create_app(settings: Settings) -> ServerApp:
    """Build the app; nothing starts until the lifespan startup (uvicorn/gunicorn) runs."""
    app = ServerApp(settings)
    services = app.services
    redis_url = settings.redis_url.get() if settings.redis_url is not None else None
    store = build_store(settings.state_dir, redis_url)
    realtime = OverlayRealtime(
        store,
        auth_token=settings.auth_token.get(),
        origin_url=settings.origin_url,
        redis_url=redis_url,
    )
    app.mount("/socket.io", realtime.asgi)
    access.install(app, settings, services.http_stats)

    async def overlay_health() -> dict[str, Any]:
        counts = realtime.client_counts()
        health: dict[str, Any] = {"ok": True, "clients": sum(counts.values())}
        health["store"] = "redis" if redis_url else "file"
        if redis_url:
            try:
                await asyncio.wait_for(store.open(), HEALTH_PROBE_TIMEOUT)
            except Exception as exc:
                health.update(ok=False, error=type(exc).__name__)
        return health

    status.register(app, services, extra_health={"overlay": overlay_health})
    discord.register(app, services)
    interactions.register(app, services)
    overlay_routes.register(app, store=store, realtime=realtime)
    metrics.register(app, build_registry(services, overlay_clients=realtime.client_counts))
    if settings.is_development:
        from asgi_app.devtools.register import register as register_devtools

        register_devtools(app, services)

    async def startup() -> None:
        log.info(
            "starting (%s mode)%s",
            settings.app_env,
            ", Discord simulator" if settings.use_simulator else "",
        )
        await store.open()
        await services.start()

    async def shutdown() -> None:
        log.info("shutting down")
        await services.stop()
        await realtime.close()
        await store.close()

    openapi.register(app)
    app.on_startup(startup)
    app.on_shutdown(shutdown)
    return app
