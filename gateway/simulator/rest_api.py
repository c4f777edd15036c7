"""The REST side: recorded requests, routing, auth, rate limits and injected faults.
The Discord routes themselves live in rest_routes.py; tests add their own with add_route()."""

from __future__ import annotations

import asyncio
import fnmatch
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from gateway.simulator.config import SimConfig
from gateway.simulator.http_server import HttpReply, HttpRequest, HttpServer
from gateway.simulator.ratelimit import (
    Buckets,
    GlobalLimit,
    Limit,
    bucket_hash,
    retry_after_header,
)

API_PREFIX = "/api/v10"


@dataclass(eq=False)
class RestRequest:
    """One recorded request; `status` is filled in once the answer is decided."""

    at: float
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    route: str | None = None  # "POST /channels/{channel_id}/messages"
    status: int | None = None
    injected: bool = False


@dataclass(slots=True)
class Reply:
    status: int
    json: Any = None
    headers: list[tuple[str, str]] = field(default_factory=list)


RouteHandler = Callable[[RestRequest], Awaitable[Reply]]


@dataclass(eq=False)
class Route:
    method: str
    template: str
    handler: RouteHandler
    auth: bool  # True: needs "Authorization: Bot <token>"; False: authenticated by the path
    limit: Limit | None
    major: str | None  # the path parameter that splits the bucket
    global_limited: bool
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        self.regex = re.compile(f"^{pattern}$")

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


@dataclass(eq=False)
class Injection:
    pattern: str
    method: str | None
    status: int | None
    times: int | None  # None: until cleared
    retry_after: float
    global_: bool
    scope: str
    drop: bool
    body: Any
    headers: list[tuple[str, str]]
    after: bool = False  # drop only after the route handled it: Discord took it, the answer lost

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        return fnmatch.fnmatchcase(path, self.pattern)


def error(status: int, message: str, code: int = 0, **extra: Any) -> Reply:
    return Reply(status, {"message": message, "code": code, **extra})


class RestApi:
    """`sim.rest`: everything about the simulated REST API."""

    def __init__(self, config: SimConfig, notify: Callable[[], None]) -> None:
        self.config = config
        self._notify = notify
        self.requests: list[RestRequest] = []
        self.routes: list[Route] = []
        self.injections: list[Injection] = []
        self.latency: list[tuple[str, float]] = []
        self.answer_delays: list[tuple[str, float]] = []
        self.buckets = Buckets(config.clock)
        self.global_limit = GlobalLimit(config.clock, config.global_limit, config.global_window)
        self.token_revoked = False  # sim.revoke_token(): every bot-token route answers 401
        self._server = HttpServer(self._handle, config.host, config.rest_port)

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self._server.port}"

    @property
    def api_base(self) -> str:
        return self.base_url + API_PREFIX

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()

    # ------------------------------------------------------------------ configuration
    def add_route(
        self,
        method: str,
        template: str,
        handler: RouteHandler,
        *,
        auth: bool = True,
        limit: tuple[int, float] | None = (50, 1.0),
        major: str | None = None,
        global_limited: bool | None = None,
    ) -> Route:
        """Register (or replace) a route; `template` like "/channels/{channel_id}/messages"."""
        route = Route(
            method.upper(),
            template,
            handler,
            auth,
            Limit(*limit) if limit is not None else None,
            major,
            auth if global_limited is None else global_limited,
        )
        self.routes = [r for r in self.routes if r.name != route.name]
        self.routes.append(route)
        return route

    def set_limit(self, route: str, limit: int, window: float) -> None:
        """Change a bucket limit; `route` is "METHOD /template" as in RestRequest.route."""
        for r in self.routes:
            if r.name == route:
                r.limit = Limit(limit, window)
                return
        raise KeyError(route)

    def delay_answers(self, pattern: str, seconds: float) -> None:
        """Handle requests to paths matching `pattern` on arrival, then hold their answers
        `seconds` (Discord took it; its answer is slow on the way back)."""
        self.answer_delays = [(p, s) for p, s in self.answer_delays if p != pattern]
        if seconds > 0:
            self.answer_delays.append((pattern, seconds))

    def set_latency(self, pattern: str, seconds: float) -> None:
        """Delay answers to paths matching the glob `pattern` (e.g. "/interactions/*")."""
        self.latency = [(p, s) for p, s in self.latency if p != pattern]
        if seconds > 0:
            self.latency.append((pattern, seconds))

    def inject(
        self,
        pattern: str,
        status: int | None = 429,
        *,
        times: int | None = 1,
        method: str | None = None,
        retry_after: float = 0.05,
        global_: bool = False,
        scope: str | None = None,
        drop: bool = False,
        body: Any = None,
        headers: list[tuple[str, str]] | None = None,
        after: bool = False,
    ) -> Injection:
        """Answer the next `times` requests whose path (without /api/v10) matches the glob
        `pattern` with `status` (429 gets Discord's body and headers), or drop the connection
        without an answer (`drop=True`); with `after=True` the request is handled as usual and
        then its answer is lost (the connection dropped). `times=None` keeps it until
        clear_injections()."""
        injection = Injection(
            pattern,
            method,
            status,
            times,
            retry_after,
            global_,
            scope or ("global" if global_ else "user"),
            drop,
            body,
            headers or [],
            drop and after,
        )
        self.injections.append(injection)
        return injection

    def clear_injections(self) -> None:
        self.injections.clear()

    # ------------------------------------------------------------------ helpers for tests
    def find(self, method: str | None = None, pattern: str = "*") -> list[RestRequest]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper())
            and fnmatch.fnmatchcase(r.path, pattern)
        ]

    @property
    def global_violations(self) -> list[float]:
        return self.global_limit.violations

    # ------------------------------------------------------------------ request handling
    async def _handle(self, http: HttpRequest) -> HttpReply:
        parts = urlsplit(http.target)
        headers = {k: v for k, v in http.headers}
        req = RestRequest(
            at=self.config.clock(),
            method=http.method.upper(),
            path=parts.path[len(API_PREFIX) :] if parts.path.startswith(API_PREFIX) else parts.path,
            query=dict(parse_qsl(parts.query)),
            headers=headers,
            body=http.body,
        )
        self.requests.append(req)
        self._notify()
        try:
            reply, drop = await self._answer(req, parts.path.startswith(API_PREFIX + "/"))
        finally:
            self._notify()
        if drop:
            req.status = None
            return HttpReply(0, drop=True)
        req.status = reply.status
        # Discord's answer is written now, its Date with it; a held answer is slow on the way
        date = formatdate(self.config.wall_clock(), usegmt=True)
        for pattern, seconds in self.answer_delays:
            if fnmatch.fnmatchcase(req.path, pattern):
                await asyncio.sleep(seconds)
                break
        body = b"" if reply.json is None else orjson.dumps(reply.json)
        out_headers = list(reply.headers)
        if body:
            out_headers.append(("Content-Type", "application/json"))
        out_headers.append(("Via", "1.1 discord-simulator"))
        out_headers.append(("Date", date))
        self._notify()
        return HttpReply(reply.status, body, out_headers)

    async def _answer(self, req: RestRequest, prefixed: bool) -> tuple[Reply, bool]:
        if not prefixed:
            return error(404, "404: Not Found"), False
        route, allowed = self._match(req)
        if route is None:
            if allowed:
                return error(405, "405: Method Not Allowed"), False
            return error(404, "404: Not Found"), False
        for pattern, seconds in self.latency:
            if fnmatch.fnmatchcase(req.path, pattern):
                await asyncio.sleep(seconds)
                break
        answer_lost = self._answer_lost(req)
        injected = None if answer_lost else self._injected(req)
        if injected is not None:
            req.injected = True
            return injected
        if req.body and "json" in (req.headers.get("content-type") or ""):
            try:
                req.json = orjson.loads(req.body)
            except orjson.JSONDecodeError:
                return error(400, "The request body contains invalid JSON.", 50109), False
        ua = req.headers.get("user-agent") or ""
        if self.config.require_user_agent and not ua.startswith("DiscordBot ("):
            return error(
                400, "A valid User-Agent is required (DiscordBot (url, version)).", 0
            ), False
        if route.auth and (
            self.token_revoked or req.headers.get("authorization") != f"Bot {self.config.token}"
        ):
            return error(401, "401: Unauthorized"), False
        if route.global_limited:
            retry = self.global_limit.hit()
            if retry is not None and self.config.enforce_global_limit:
                return self._too_many(retry, global_=True, scope="global"), False
        bucket_headers: list[tuple[str, str]] = []
        if route.limit is not None:
            major = req.params.get(route.major, "") if route.major else ""
            state = self.buckets.hit(route.name, major, route.limit)
            bucket_headers = state.headers(self.config.wall_clock())
            if not state.allowed:
                reply = self._too_many(state.reset_after, global_=False, scope="user")
                reply.headers = bucket_headers + reply.headers
                return reply, False
        reply = await route.handler(req)
        reply.headers = bucket_headers + reply.headers
        return reply, answer_lost

    def _match(self, req: RestRequest) -> tuple[Route | None, bool]:
        path_known = False
        for route in self.routes:
            found = route.regex.match(req.path)
            if found is None:
                continue
            path_known = True
            if route.method == req.method:
                req.params = found.groupdict()
                req.route = route.name
                return route, True
        return None, path_known

    def _consume(self, injection: Injection) -> None:
        if injection.times is not None:
            injection.times -= 1
            if injection.times <= 0:
                self.injections.remove(injection)

    def _answer_lost(self, req: RestRequest) -> bool:
        """Whether an `after` injection loses this request's answer (it is consumed)."""
        for injection in self.injections:
            if injection.after and injection.matches(req.method, req.path):
                self._consume(injection)
                return True
        return False

    def _injected(self, req: RestRequest) -> tuple[Reply, bool] | None:
        for injection in self.injections:
            if injection.after or not injection.matches(req.method, req.path):
                continue
            self._consume(injection)
            if injection.drop:
                return Reply(0), True
            status = injection.status or 500
            if status == 429:
                reply = self._too_many(
                    injection.retry_after, global_=injection.global_, scope=injection.scope
                )
                if not injection.global_:
                    bucket = bucket_hash(req.route or req.path)
                    now = self.config.wall_clock()
                    reply.headers += [
                        ("X-RateLimit-Limit", "5"),
                        ("X-RateLimit-Remaining", "0"),
                        ("X-RateLimit-Reset", f"{now + injection.retry_after:.3f}"),
                        ("X-RateLimit-Reset-After", f"{injection.retry_after:.3f}"),
                        ("X-RateLimit-Bucket", bucket),
                    ]
            else:
                body = injection.body
                if body is None:
                    body = {"message": f"{status}: simulated failure", "code": 0}
                reply = Reply(status, body)
            reply.headers += injection.headers
            return reply, False
        return None

    @staticmethod
    def _too_many(retry_after: float, *, global_: bool, scope: str) -> Reply:
        headers = [("Retry-After", retry_after_header(retry_after)), ("X-RateLimit-Scope", scope)]
        if global_:
            headers.append(("X-RateLimit-Global", "true"))
        body = {
            "message": "You are being rate limited.",
            "retry_after": round(retry_after, 3),
            "global": global_,
            "code": 0,
        }
        return Reply(429, body, headers)
