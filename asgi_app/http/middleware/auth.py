"""require_token() and require_origin(): shared-secret and Origin checks."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from asgi_app.http.errors import HTTPError
from asgi_app.http.request import Request
from asgi_app.http.response import Response
from asgi_app.http.types import Middleware, Next


def token_matches(presented: str | None, expected: str | Sequence[str]) -> bool:
    """True when `presented` is `<token>` or `Bearer <token>` for `expected` or one of the
    tokens `expected` lists (each compared in constant time, every one compared).

    The one rule for shared-secret credentials, over HTTP and elsewhere (Socket.IO)."""
    if presented is None:
        return False
    scheme, _, rest = presented.partition(" ")
    if rest and scheme.lower() == "bearer":
        presented = rest.strip()
    given = presented.encode("utf-8", "surrogateescape")
    found = False
    for token in (expected,) if isinstance(expected, str) else expected:
        found |= hmac.compare_digest(given, token.encode("utf-8"))
    return found


def require_token(
    token: str | Sequence[str], *, header: str = "authorization", realm: str = "api"
) -> Middleware:
    """401 unless `header` is `<token>` or `Bearer <token>` for `token` or one of the tokens
    it lists (constant-time comparison)."""
    listed = (token,) if isinstance(token, str) else tuple(token)
    if not listed or not all(listed):
        raise ValueError("require_token() needs non-empty tokens")
    name = header.lower()
    challenge = f'Bearer realm="{realm}"'

    async def check_token(req: Request, res: Response, next: Next) -> None:
        if not token_matches(req.headers.get(name), listed):
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
