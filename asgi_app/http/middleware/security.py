"""security_headers(): nosniff, frame deny, referrer policy, and a CSP on HTML answers."""

from __future__ import annotations

from collections.abc import Mapping

from asgi_app.http.request import Request
from asgi_app.http.response import Response
from asgi_app.http.types import Middleware, Next

DEFAULT_CSP = (
    "default-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; object-src 'none'"
)


def security_headers(
    *,
    content_security_policy: str | None = DEFAULT_CSP,
    frame_options: str | None = "DENY",
    referrer_policy: str | None = "no-referrer",
    content_type_options: str | None = "nosniff",
    extra: Mapping[str, str] | None = None,
) -> Middleware:
    """Set the headers after the handler (errors included) unless the handler set them.
    A None value leaves that header out; the CSP goes on text/html answers only."""
    fixed: list[tuple[str, str]] = []
    for name, value in (
        ("x-content-type-options", content_type_options),
        ("x-frame-options", frame_options),
        ("referrer-policy", referrer_policy),
    ):
        if value is not None:
            fixed.append((name, value))
    for name, value in (extra or {}).items():
        fixed.append((name.lower(), value))
    csp = content_security_policy

    async def add_security_headers(req: Request, res: Response, next: Next) -> None:
        await next()
        headers = res.headers
        for name, value in fixed:
            if name not in headers:
                headers[name] = value
        if csp is not None and "content-security-policy" not in headers:
            media = headers.get("content-type", "")
            if media.startswith("text/html"):
                headers["content-security-policy"] = csp

    return add_security_headers
