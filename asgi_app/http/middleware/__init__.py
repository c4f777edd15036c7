"""Generic middleware factories (nothing here knows about Discord or overlays)."""

from asgi_app.http.middleware.auth import require_origin, require_token, token_matches
from asgi_app.http.middleware.cors import cors
from asgi_app.http.middleware.ratelimit import TokenBuckets, client_address, rate_limit
from asgi_app.http.middleware.security import DEFAULT_CSP, security_headers

__all__ = [
    "DEFAULT_CSP",
    "TokenBuckets",
    "client_address",
    "cors",
    "rate_limit",
    "require_origin",
    "require_token",
    "security_headers",
    "token_matches",
]
