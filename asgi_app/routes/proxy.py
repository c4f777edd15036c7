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

Access: `asgi_app.routes.access.Doors.proxy` (PROXY_TOKEN, or AUTH_TOKEN when it is unset, and
the Origin check). PROXY_ALLOW, when set, lists the routes that pass: any other is refused
with 403 before any call to Discord.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

import httpx

from asgi_app.http import App, HTTPError, Middleware, Request, Response
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
#: The refused route is named in the 403; a path is client input, so only this much of it.
LOGGED_ROUTE_CHARS = 200
_RESPONSE_HEADERS = frozenset({"content-type", "retry-after"})


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


def register(app: App, services: Services, settings: Settings, door: Middleware) -> None:
    body_limit = settings.proxy_body_limit_bytes
    max_wait = settings.proxy_max_wait_seconds
    allowed = settings.proxy_allow

    async def proxy(req: Request, res: Response) -> None:
        discord = services.running.discord
        if discord is None:
            raise HTTPError(503, "Discord is not configured (no BOT_TOKEN)")
        rest = discord.rest
        path = upstream_path(req)
        if allowed is not None and not allowed.allows(req.method, req.path[len(PREFIX) :]):
            route = f"{req.method} {req.path[len(PREFIX) :][:LOGGED_ROUTE_CHARS]}"
            raise HTTPError(403, f"PROXY_ALLOW does not list this route: {route}")
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
        middleware=[door],
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
