"""Which middleware guards what: global (request log, security headers, CORS: every HTTP
request, /socket.io included) and the guarded route group (rate limit, origin, token) that
the protected routes are registered on. One place decides it for every route."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from asgi_app.http import App, Middleware, Next, Request, Response, RouteGroup
from asgi_app.http.middleware import (
    cors,
    rate_limit,
    require_origin,
    require_token,
    security_headers,
)
from asgi_app.logs import request_id_var
from asgi_app.openapi import SECURED
from asgi_app.settings import Settings

access_log = logging.getLogger("asgi_app.access")

#: Paths are client input: a log line keeps this much of one.
LOGGED_PATH_CHARS = 256


@dataclass
class HttpStats:
    """Requests answered, by status code (read by /metrics and /analytics/internal)."""

    by_status: dict[int, int] = field(default_factory=dict)

    def count(self, status: int) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def request_log(stats: HttpStats) -> Middleware:
    """One log line per request, with its request id, and the count by status."""

    async def log_request(req: Request, res: Response, next: Next) -> None:
        token = request_id_var.set(req.request_id)
        started = time.perf_counter()
        try:
            await next()
        finally:
            stats.count(res.status_code)
            access_log.info(
                "%s %s %d",
                req.method[:16],
                req.path[:LOGGED_PATH_CHARS],
                res.status_code,
                extra={
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client": req.client,
                },
            )
            request_id_var.reset(token)

    return log_request


def install(app: App, settings: Settings, stats: HttpStats) -> RouteGroup:
    """The global middleware on `app`; returns the group the protected routes go on."""
    app.use(request_log(stats))
    app.use(security_headers())
    app.use(cors(settings.origin_url))
    return app.group(
        # Rate limit first, so that guessing the token costs requests too.
        rate_limit(settings.rate_limit_per_minute),
        require_origin(settings.origin_url),
        require_token(settings.auth_token.get()),
        meta=SECURED,
    )
