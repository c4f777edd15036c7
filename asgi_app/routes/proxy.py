"""`/discord/api/v10/{path}`: the main app's own Discord REST calls, through this server's client.

The request goes out through the same `DiscordRest` as the server's own calls (same buckets,
global limit and invalid-request budget) with `Authorization: Bot <BOT_TOKEN>` instead of the
caller's (none on interaction and webhook token routes, as Discord expects). Passed on: the
method, the path as sent (percent-encoding kept), the query, the body (JSON or multipart, read
as it arrives and refused at PROXY_BODY_LIMIT_BYTES; over 1 MiB spooled to a temporary file
and streamed from it, `proxy_body.py`), Content-Type and X-Audit-Log-Reason. Passed back unchanged:
Discord's status, body, Content-Type, Retry-After and X-RateLimit-* headers.

A request that would wait more than PROXY_MAX_WAIT_SECONDS for a limit is answered 429 with
Retry-After and the X-RateLimit-* headers the client knows (or Discord's own 429, when Discord
asks for a longer wait than that); one refused by the invalid-request budget gets 429 too.

Access: AUTH_TOKEN and the Origin check like every protected route. The per-address request
rate (RATE_LIMIT_PER_MINUTE) is charged only to requests with a wrong token (guessing still
costs requests); the main app's calls themselves are paced by Discord's limits.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

import httpx

from asgi_app.http import App, HTTPError, Middleware, Next, Request, Response
from asgi_app.http.middleware import rate_limit, require_origin, require_token, token_matches
from asgi_app.openapi import PASSTHROUGH, SECURED
from asgi_app.routes.proxy_body import SpooledBody, read_body
from asgi_app.services import Services
from asgi_app.settings import Settings
from gateway.rest.errors import (
    DiscordAuthFailed,
    DiscordRestError,
    InvalidRequestBudget,
    RateLimitWait,
)

PREFIX = "/discord/api/v10"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_REQUEST_HEADERS = ("content-type", "x-audit-log-reason")
_RESPONSE_HEADERS = frozenset({"content-type", "retry-after"})


def guard(settings: Settings) -> Middleware:
    """The Origin check and AUTH_TOKEN; the per-address rate only for a wrong token."""
    token = settings.auth_token.get()
    origin = require_origin(settings.origin_url)
    limited = rate_limit(settings.rate_limit_per_minute)
    refuse = require_token(token)

    async def check(req: Request, res: Response, next: Next) -> None:
        async def authenticated() -> None:
            if token_matches(req.headers.get("authorization"), token):
                await next()
            else:
                await limited(req, res, lambda: refuse(req, res, next))

        await origin(req, res, authenticated)

    return check


def upstream_path(req: Request) -> str:
    """The path below /api/v10 as the client sent it (percent-encoding kept), with its query."""
    raw = req.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(req.path, safe="/@:%!$&'()*+,;=")
    path = path.split("?", 1)[0][len(PREFIX) :]
    segments = req.path[len(PREFIX) :].split("/")[1:]  # decoded: %2e%2e is ".." too
    if not segments or not segments[0] or any(s in (".", "..") for s in segments):
        raise HTTPError(404, "No Discord route at this path")
    query: bytes = req.scope.get("query_string", b"")
    return path + ("?" + query.decode("latin-1") if query else "")


def register(app: App, services: Services, settings: Settings) -> None:
    body_limit = settings.proxy_body_limit_bytes
    max_wait = settings.proxy_max_wait_seconds

    async def proxy(req: Request, res: Response) -> None:
        rest = services.rest
        if rest is None:
            raise HTTPError(503, "Discord is not configured (no BOT_TOKEN)")
        path = upstream_path(req)
        req.body_limit = body_limit
        body = await read_body(req)
        headers = {name: value for name in _REQUEST_HEADERS if (value := req.headers.get(name))}
        try:
            # HEAD goes as GET (its answer's body is dropped on the way out)
            method = "GET" if req.method == "HEAD" else req.method
            answer = await rest.proxy(method, path, body, headers, max_wait=max_wait)
        except RateLimitWait as exc:
            too_many(res, "A Discord rate limit", exc.retry_after, exc.is_global, exc.headers)
            return
        except InvalidRequestBudget as exc:
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
            too_many(res, "Discord's invalid-request budget", exc.retry_after, False, headers)
            return
        except DiscordAuthFailed as exc:
            raise HTTPError(502, "Discord refused this server's bot token") from exc
        except httpx.TimeoutException as exc:
            raise HTTPError(504, "Discord did not answer in time") from exc
        except (httpx.TransportError, DiscordRestError) as exc:
            raise HTTPError(502, "Discord could not be reached") from exc
        finally:
            if isinstance(body, SpooledBody):
                body.close()
        res.status(answer.status)
        for name, value in answer.headers.items():
            if name in _RESPONSE_HEADERS or name.startswith("x-ratelimit-"):
                res.header(name, value)
        res.body = answer.content

    app.route(
        PREFIX + "/{path:path}",
        METHODS,
        proxy,
        middleware=[guard(settings)],
        summary="Discord REST proxy: the call goes to Discord with this server's bot token",
        tags=["discord"],
        meta={**SECURED, **PASSTHROUGH},
    )


def too_many(
    res: Response, what: str, retry_after: float, is_global: bool, headers: dict[str, Any]
) -> None:
    """429 problem+json that also reads as Discord's own 429 (retry_after, global)."""
    res.problem(
        429,
        f"{what} holds this request longer than this server waits; retry after the given time",
        extra={"retry_after": round(retry_after, 3), "global": is_global},
    )
    for name, value in headers.items():
        res.header(name, str(value))
