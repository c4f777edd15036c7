"""The app factory: settings in, the whole ASGI app out (routes, middleware, lifespan)."""

from __future__ import annotations

import logging

from asgi_app.http import App
from asgi_app.metrics import build_registry
from asgi_app.routes import access, discord, metrics, status
from asgi_app.services import Services
from asgi_app.settings import Settings

log = logging.getLogger("asgi_app")


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
    access.install(app, settings, services.http_stats)
    status.register(app, services, extra_health={})
    discord.register(app, services)
    metrics.register(app, build_registry(services, overlay_clients=dict))
    if settings.is_development:
        from asgi_app.devtools.register import register as register_devtools

        register_devtools(app, services)

    async def startup() -> None:
        log.info(
            "starting (%s mode)%s",
            settings.app_env,
            ", Discord simulator" if settings.use_simulator else "",
        )
        await services.start()

    async def shutdown() -> None:
        log.info("shutting down")
        await services.stop()

    app.on_startup(startup)
    app.on_shutdown(shutdown)
    return app
