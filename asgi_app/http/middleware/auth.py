"""require_token() and require_origin(): shared-secret and Origin checks."""

from __future__ import annotations

import hmac

from asgi_app.http.errors import HTTPError
from asgi_app.http.request import Request
from asgi_app.http.response import Response
from asgi_app.http.types import Middleware, Next


def token_matches(presented: str | None, expected: str) -> bool:
    """True when `presented` is `<expected>` or `Bearer <expected>` (constant-time compare).

    The one rule for shared-secret credentials, over HTTP and elsewhere (Socket.IO)."""
    if presented is None:
        return False
    scheme, _, rest = presented.partition(" ")
    if rest and scheme.lower() == "bearer":
        presented = rest.strip()
    return hmac.compare_digest(
        presented.encode("utf-8", "surrogateescape"), expected.encode("utf-8")
    )


def require_token(token: str, *, header: str = "authorization", realm: str = "api") -> Middleware:
    """401 unless `header` is `<token>` or `Bearer <token>` (constant-time comparison)."""
    if not token:
        raise ValueError("require_token() needs a non-empty token")
    name = header.lower()
    challenge = f'Bearer realm="{realm}"'

    async def check_token(req: Request, res: Response, next: Next) -> None:
        if not token_matches(req.headers.get(name), token):
            raise HTTPError(
                401,
                "A valid token is required",
                headers={"WWW-Authenticate": challenge},
            )
        await next()

    return check_token


def require_origin(origin: str) -> Middleware:
    """403 when the request carries an Origin header other than `origin`."""
    allowed = origin.rstrip("/")

    async def check_origin(req: Request, res: Response, next: Next) -> None:
        presented = req.header("origin")
        if presented is not None and presented != allowed:
            raise HTTPError(403, "This origin is not allowed")
        await next()

    return check_origin
