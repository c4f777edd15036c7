"""Which middleware guards what: global (request log, security headers, CORS: every HTTP
request, /socket.io included) and the guarded route group (rate limit, origin, token) that
the protected routes are registered on. One place decides it for every route."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from logging import INFO

from asgi_app.http import App, Middleware, Next, Request, Response, RouteGroup
from asgi_app.http.middleware import (
    cors,
    rate_limit,
    require_origin,
    require_token,
    security_headers,
)
from asgi_app.logs import request_id_var, write_direct
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
    """One log line per request, with its request id, and the count by status.

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
                msg = f"{req.method[:16]} {req.path[:LOGGED_PATH_CHARS]} {status}"
                fields = {"duration_ms": duration, "client": req.client}
                if not write_direct(logger, msg, fields):
                    record = logger.makeRecord(name, INFO, __file__, line, msg, (), None)
                    record.__dict__.update(fields)
                    logger.handle(record)
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
