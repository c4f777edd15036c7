"""Which middleware guards what: global (request log, security headers, CORS) and protected
(origin, token, rate limit). One place decides it for every route."""

from __future__ import annotations

import logging
import time

from asgi_app.http import App, Middleware, Next, Request, Response
from asgi_app.http.middleware import (
    cors,
    rate_limit,
    require_origin,
    require_token,
    security_headers,
)
from asgi_app.logs import request_id_var
from asgi_app.services import HttpStats
from asgi_app.settings import Settings

access_log = logging.getLogger("asgi_app.access")

#: Paths are client input: a log line keeps this much of one.
LOGGED_PATH_CHARS = 256


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


def install(app: App, settings: Settings, stats: HttpStats) -> None:
    app.use(request_log(stats))
    app.use(security_headers())
    app.use(cors(settings.origin_url))
    # Rate limit first, so that guessing the token costs requests too.
    app.use_protected(rate_limit(settings.rate_limit_per_minute))
    app.use_protected(require_origin(settings.origin_url))
    app.use_protected(require_token(settings.auth_token.get()))
