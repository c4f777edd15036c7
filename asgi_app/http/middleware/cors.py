"""cors(allowed_origin): CORS for exactly one origin, preflight answered with 204."""

from __future__ import annotations

from collections.abc import Sequence

from asgi_app.http.request import Request
from asgi_app.http.response import Response
from asgi_app.http.types import Middleware, Next


def cors(
    allowed_origin: str,
    *,
    methods: Sequence[str] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
    headers: Sequence[str] = ("Authorization", "Content-Type", "X-Request-Id"),
    expose_headers: Sequence[str] = ("X-Request-Id", "Retry-After"),
    max_age: int = 600,
    allow_credentials: bool = False,
) -> Middleware:
    """Allow-Origin only for `allowed_origin` (Vary: Origin always), on every answer, errors
    included. An OPTIONS preflight from that origin gets 204 without reaching the router."""
    origin_ok = allowed_origin.rstrip("/")
    if not origin_ok or origin_ok == "*":
        raise ValueError("cors() needs one concrete origin")
    allow_methods = ", ".join(m.upper() for m in methods)
    allow_headers = ", ".join(headers)
    exposed = ", ".join(expose_headers)
    age = str(int(max_age))

    def allow(res: Response) -> None:
        res.headers["access-control-allow-origin"] = origin_ok
        if allow_credentials:
            res.headers["access-control-allow-credentials"] = "true"

    async def apply_cors(req: Request, res: Response, next: Next) -> None:
        origin = req.header("origin")
        matches = origin is not None and origin == origin_ok
        if matches and req.method == "OPTIONS" and "access-control-request-method" in req.headers:
            res.status(204)
            allow(res)
            res.headers["access-control-allow-methods"] = allow_methods
            res.headers["access-control-allow-headers"] = allow_headers
            res.headers["access-control-max-age"] = age
            res.append_header("Vary", "Origin")
            return
        await next()
        res.append_header("Vary", "Origin")
        if matches:
            allow(res)
            if exposed:
                res.headers["access-control-expose-headers"] = exposed

    return apply_cors
