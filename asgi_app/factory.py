"""The app factory: settings in, the whole ASGI app out (routes, middleware, lifespan)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from asgi_app import openapi
from asgi_app.gc_tuning import tune_gc
from asgi_app.http import App, HttpStats
from asgi_app.logs import configure_logging
from asgi_app.metrics import ScrapeProbes, build_registry
from asgi_app.overlay import routes as overlay_routes
from asgi_app.overlay.realtime import OverlayRealtime
from asgi_app.overlay.state import valid_name
from asgi_app.overlay.store import REDIS_TIMEOUT_SECONDS, FileStore, build_store
from asgi_app.routes import access, discord, events, interactions, metrics, proxy, status, timers
from asgi_app.services import Services
from asgi_app.settings import Settings, load_settings
from gateway.egress import proxy_secrets
from gateway.private_files import private_dir
from gateway.redis_client import redis_client
from gateway.timers.engine import Listener as TimerListener
from gateway.timers.model import Timer

log = logging.getLogger("asgi_app")


class ServerApp(App):
    """The framework's App plus the services it serves (tests and tools reach them here)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(body_limit=settings.body_limit_bytes)
        self.settings = settings
        self.services = Services(settings)
        self._before_shutdown: list[Callable[[], Awaitable[None]]] = []

    def on_before_shutdown(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook` in before_shutdown (it must also be safe to run again at shutdown)."""
        self._before_shutdown.append(hook)

    async def before_shutdown(self) -> None:
        """Called by the gunicorn worker (asgi_app.worker) once it stops accepting and before
        it closes the connections: the Socket.IO clients are disconnected properly."""
        for hook in self._before_shutdown:
            await hook()


def create_app(settings: Settings) -> ServerApp:
    """Build the app; nothing starts until the lifespan startup (uvicorn/gunicorn) runs."""
    app = ServerApp(settings)
    services = app.services
    redis_url = settings.redis_url.get() if settings.redis_url is not None else None
    overlay_redis = redis_client(redis_url, timeout=REDIS_TIMEOUT_SECONDS) if redis_url else None
    store = build_store(settings.state_dir, overlay_redis)
    realtime = OverlayRealtime(
        store,
        auth_tokens=settings.auth_token.all(),
        view_secrets=settings.view_secrets,
        origin_url=settings.origin_url,
        redis_url=redis_url,
    )
    app.mount("/socket.io", realtime.asgi)
    http_stats = HttpStats()
    doors = access.install(app, settings, http_stats)
    guarded = doors.guarded
    app.on_before_shutdown(realtime.close)

    async def overlay_health() -> dict[str, Any]:
        counts = realtime.client_counts()
        return {"clients": sum(counts.values())} | await store.health()

    async def timers_health() -> dict[str, Any]:
        return services.running.timers.health()

    async def events_health() -> dict[str, Any]:
        return services.running.events.health()  # idle: {"ok": True, "enabled": False}

    services.timer_listeners.append(_timer_pusher(realtime))
    health: dict[str, status.HealthProbe] = {
        "overlay": overlay_health,
        "timers": timers_health,
        "events": events_health,
    }
    status.register(app, guarded, services, http_stats, extra_health=health)
    discord.register(guarded, services)
    proxy.register(app, services, settings, doors.proxy)
    interactions.register(app, services)
    overlay_routes.register(app, guarded=guarded, store=store, realtime=realtime)
    timers.register(guarded, services, valid_name)
    events.register(app, guarded, services)
    probes = ScrapeProbes(redis=store.health if redis_url else None)
    registry = build_registry(services, http_stats, realtime.client_counts, probes)
    metrics.register(doors.metrics, registry, probes.refresh)
    if settings.is_development:
        from asgi_app.devtools.register import register as register_devtools

        register_devtools(app, services)

    async def startup() -> None:
        log.info(
            "starting (%s mode)%s",
            settings.app_env,
            ", Discord simulator" if settings.use_simulator else "",
        )
        if not settings.is_development and settings.proxy_allow is None:
            log.warning(
                "PROXY_ALLOW is unset: the REST proxy passes every Discord route with the bot's "
                "full power to whoever holds %s",
                "PROXY_TOKEN" if settings.proxy_token else "AUTH_TOKEN",
            )
        # STATE_DIR is private (0700, tightened and logged when it was wider); its files
        # are created 0600 by whoever writes them (gateway/private_files.py).
        private_dir(settings.state_dir)
        if isinstance(store, FileStore):
            private_dir(store.directory)
        await store.open()
        await services.start()
        tune_gc()  # once per process: start-up's objects frozen, full collections rarer

    async def shutdown() -> None:
        log.info("shutting down")
        await services.stop()
        await realtime.close()
        await store.close()

    openapi.register(app)
    app.on_startup(startup)
    app.on_shutdown(shutdown)
    return app


def _timer_pusher(realtime: OverlayRealtime) -> TimerListener:
    """A timer with `overlay` is pushed to that overlay's clients on every change."""
    pushes: set[asyncio.Task[None]] = set()

    def push(timer: Timer, now: int) -> None:
        if timer.overlay is None:
            return
        event = timer.overlay_event(now)
        task = asyncio.get_running_loop().create_task(realtime.publish_timer(timer.overlay, event))
        pushes.add(task)
        task.add_done_callback(pushes.discard)

    return push


def build_from_environment(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> ServerApp:
    """What `asgi_app:app` serves: settings from the environment (and `.env`), logging as
    configured there, then the app. Raises SettingsError (every problem, no value)."""
    settings = load_settings(os.environ if environ is None else environ, env_file)
    # The proxy variables are read from the process environment for every client
    # (gateway/egress.py), so their credentials are masked from there.
    secrets = (*settings.secret_values(), *proxy_secrets())
    configure_logging(settings.log_level, settings.log_format, secrets)
    if settings.dev_defaults:
        # Printed once, on purpose and outside the (scrubbed) logs: a developer needs the
        # generated AUTH_TOKEN to call protected routes. Only development mode generates any.
        values = {"AUTH_TOKEN": settings.auth_token.get(), "ORIGIN_URL": settings.origin_url}
        for name in settings.dev_defaults:
            print(f"development default {name}={values.get(name, '')}", file=sys.stderr)
    return create_app(settings)
