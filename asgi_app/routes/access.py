"""Which middleware guards what: global (request log, security headers, CORS: every HTTP
request, /socket.io included) and the doors of the protected routes (rate limit, origin, a
token). One place decides it for every route, and each secret opens one door:

- AUTH_TOKEN (any of its list): every protected route but the REST proxy when PROXY_TOKEN is set;
- METRICS_TOKEN: `GET /metrics` only;
- PROXY_TOKEN: the REST proxy only (and then AUTH_TOKEN does not open it).

The overlay view keys (VIEW_KEY_SECRET) open one overlay's Socket.IO updates
(asgi_app.overlay.realtime); the forward key and AUTH_TOKEN's HMAC sign what goes out."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from logging import INFO

from asgi_app.http import App, HttpStats, Middleware, Next, Request, Response, RouteGroup
from asgi_app.http.middleware import (
    cors,
    rate_limit,
    require_origin,
    require_token,
    security_headers,
    token_matches,
)
from asgi_app.logs import request_id_var, scrub, write_direct
from asgi_app.openapi import SECURED
from asgi_app.settings import Settings

access_log = logging.getLogger("asgi_app.access")

#: Paths are client input: a log line keeps this much of one.
LOGGED_PATH_CHARS = 256


def request_log(stats: HttpStats) -> Middleware:
    """One log line per request, with its request id, and the count by status. The line's
    fields: `method`, `path` (tokens in it masked like the message's), `status`,
    `duration_ms`, `client`; the message says "METHOD PATH STATUS" too.

    When only the configured JSON handler would see it, the line is written without a record
    (asgi_app.logs.write_direct: same line). Otherwise the record is made and handed to the
    logger directly (`makeRecord` + `handle`: what `Logger.info` does after looking for its
    caller in the stack, which costs more here than the line): same level check, filters and
    handlers, so captures (pytest's caplog) see every access record."""
    counts = stats.by_status
    clock = time.perf_counter
    logger = access_log
    name = logger.name
    line = request_log.__code__.co_firstlineno  # the record's lineno: where it is made

    async def log_request(req: Request, res: Response, next: Next) -> None:
        token = request_id_var.set(req.request_id)
        started = clock()
        try:
            await next()
        finally:
            status = res.status_code
            counts[status] = counts.get(status, 0) + 1
            if logger.isEnabledFor(INFO):
                duration = round((clock() - started) * 1000, 2)
                method, path = req.method[:16], req.path[:LOGGED_PATH_CHARS]
                msg = f"{method} {path} {status}"
                fields = {
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": duration,
                    "client": req.client,
                }
                if not write_direct(logger, msg, fields):
                    # Handlers other than ours see the record as it is made: the path masked
                    # here, in the field and the message, whether or not the record factory
                    # of configure_logging is installed (write_direct masks its own line).
                    fields["path"] = masked = scrub(path)
                    msg = f"{method} {masked} {status}"
                    record = logger.makeRecord(name, INFO, __file__, line, msg, (), None)
                    record.__dict__.update(fields)
                    logger.handle(record)
            request_id_var.reset(token)

    return log_request


@dataclass(frozen=True)
class Doors:
    """Where protected routes are registered: `guarded` (AUTH_TOKEN), `metrics` (AUTH_TOKEN
    or METRICS_TOKEN) and `proxy`, the REST proxy's middleware (PROXY_TOKEN, or AUTH_TOKEN
    when it is unset)."""

    guarded: RouteGroup
    metrics: RouteGroup
    proxy: Middleware


def install(app: App, settings: Settings, stats: HttpStats) -> Doors:
    """The global middleware on `app`; returns the doors the protected routes go behind."""
    app.use(request_log(stats))
    app.use(security_headers())
    app.use(cors(settings.origin_url))
    # One rate limiter for every door, so that guessing a token costs requests everywhere.
    limited = rate_limit(settings.rate_limit_per_minute)
    origin = require_origin(settings.origin_url)
    auth = settings.auth_token.all()
    metrics = auth + (settings.metrics_token.all() if settings.metrics_token else ())
    proxy = settings.proxy_token.all() if settings.proxy_token else auth
    return Doors(
        # Rate limit first, so that guessing the token costs requests too.
        guarded=app.group(limited, origin, require_token(auth), meta=SECURED),
        metrics=app.group(limited, origin, require_token(metrics), meta=SECURED),
        proxy=proxy_guard(limited, origin, proxy),
    )


def proxy_guard(limited: Middleware, origin: Middleware, tokens: tuple[str, ...]) -> Middleware:
    """The REST proxy's door: the Origin check and its token; the per-address rate is charged
    only to a wrong token (the main app's own calls are paced by Discord's limits)."""
    refuse = require_token(tokens)

    async def check(req: Request, res: Response, next: Next) -> None:
        async def authenticated() -> None:
            if token_matches(req.headers.get("authorization"), tokens):
                await next()
            else:
                await limited(req, res, lambda: refuse(req, res, next))

        await origin(req, res, authenticated)

    return check
