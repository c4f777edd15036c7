"""App: the ASGI callable that owns routes, middleware, mounts and the lifespan."""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from asgi_app.http.body import decode_json, is_json_type, media_type
from asgi_app.http.chain import compose
from asgi_app.http.errors import ClientDisconnect, HTTPError
from asgi_app.http.group import RouteOptions, RouteRegistrar
from asgi_app.http.lifespan import run_lifespan
from asgi_app.http.mount import mounted_endpoint
from asgi_app.http.request import Request, incoming_request_id
from asgi_app.http.response import Response
from asgi_app.http.routing import METHODS, BodySchema, Route, Router
from asgi_app.http.types import ASGIApp, Handler, Hook, Middleware, Receive, Scope, Send

if TYPE_CHECKING:
    from typing_extensions import Unpack

logger = logging.getLogger("asgi_app.http")


DEFAULT_BODY_LIMIT = 102_400
#: A body cut short by the limit is read on (and thrown away) up to this much more, for this
#: long, before the 413 goes out: a client still sending would otherwise have the connection
#: reset under it and never read the answer. Past that the connection is closed.
DRAIN_BYTES = 1024 * 1024
DRAIN_SECONDS = 2.0


def request_id_generator() -> Callable[[], str]:
    """16 hex characters: a random 32-bit prefix per process, then a counter (unique, cheap)."""
    prefix = secrets.token_hex(4)
    counter = itertools.count(secrets.randbelow(1 << 16))
    return lambda: f"{prefix}{next(counter) & 0xFFFFFFFF:08x}"


def _body_endpoint(schema: BodySchema, handler: Handler) -> Handler:
    """Parse (415/400/413) and validate (422) the JSON body into `req.body_value`."""

    async def parse_then_handle(req: Request, res: Response) -> None:
        content_type = req.content_type
        if content_type == "application/json":  # fast path: no parameters to parse
            charset = None
        else:
            mime, params = media_type(content_type)
            if not is_json_type(mime):
                raise HTTPError(415, "This route takes an application/json body")
            charset = params.get("charset")
        value = decode_json(await req.body(), charset)
        result = schema.safe_parse(value)
        if not result.ok:
            raise HTTPError(
                422, "The body does not match the schema", errors=result.error.to_list()
            )
        req.body_value = result.value
        await handler(req, res)

    return parse_then_handle


class App(RouteRegistrar):
    """A small ASGI web framework: `use`/`next` middleware, typed routes, route groups with
    their own middleware (`app.group(...)`), mounts, problem+json errors."""

    def __init__(
        self,
        *,
        body_limit: int = DEFAULT_BODY_LIMIT,
        request_id_factory: Callable[[], str] | None = None,
    ) -> None:
        if body_limit < 0:
            raise ValueError("body_limit must be >= 0")
        self.body_limit = body_limit
        self._new_request_id = request_id_factory or request_id_generator()
        self._routes: list[Route] = []
        self._middleware: list[Middleware] = []
        self._mounts: list[tuple[str, ASGIApp]] = []
        self._mount_chains: list[tuple[str, Handler]] = []
        self._startup: list[Hook] = []
        self._shutdown: list[Hook] = []
        self._router: Router | None = None
        self._chain: Handler | None = None

    # -- registration -------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._chain is not None:
            raise RuntimeError("the app is already built; register everything before serving")

    def use(self, middleware: Middleware) -> Middleware:
        """Global middleware: runs for every HTTP request, routed (404/405/OPTIONS too) or
        mounted."""
        self._check_open()
        self._middleware.append(middleware)
        return middleware

    def route(
        self,
        path: str,
        methods: Iterable[str],
        handler: Handler,
        **options: Unpack[RouteOptions],
    ) -> Route:
        self._check_open()
        wanted = tuple(dict.fromkeys(m.upper() for m in methods))
        if not wanted or any(m not in METHODS for m in wanted):
            raise ValueError(f"bad methods {wanted!r} for {path!r}")
        route = Route(
            path=path,
            methods=wanted,
            handler=handler,
            middleware=tuple(options.get("middleware", ())),
            body=options.get("body"),
            summary=options.get("summary", ""),
            tags=tuple(options.get("tags", ())),
            meta=dict(options.get("meta", {})),
        )
        self._routes.append(route)
        return route

    def mount(self, prefix: str, app: ASGIApp) -> None:
        """Pass http and websocket scopes under `prefix` to `app` unchanged (full path).
        HTTP requests go through the global middleware first (request id, headers, logs)."""
        self._check_open()
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise ValueError("mount prefix must start with '/' and not end with '/'")
        self._mounts.append((prefix, app))

    def on_startup(self, hook: Hook) -> Hook:
        self._startup.append(hook)
        return hook

    def on_shutdown(self, hook: Hook) -> Hook:
        self._shutdown.append(hook)
        return hook

    @property
    def routes(self) -> list[Route]:
        return list(self._routes)

    # -- build --------------------------------------------------------------------------
    def build(self) -> None:
        """Compile the router and every middleware chain (idempotent)."""
        if self._chain is not None:
            return
        on_error = self._on_error
        for route in self._routes:
            endpoint = route.handler
            if route.body is not None:
                endpoint = _body_endpoint(route.body, endpoint)
            route.endpoint = compose(route.middleware, endpoint, on_error)
        self._router = Router(self._routes)
        self._mount_chains = [
            (prefix, compose(self._middleware, mounted_endpoint(app), on_error))
            for prefix, app in self._mounts
        ]
        self._chain = compose(self._middleware, self._dispatch, on_error)

    # -- errors -------------------------------------------------------------------------
    def _report(self, exc: Exception, req: Request) -> None:
        if isinstance(exc, HTTPError | ClientDisconnect) or getattr(exc, "_reported", False):
            return
        args = (type(exc).__name__, req.method, req.path[:256], req.request_id)
        message = "unhandled %s in %s %s (request_id=%s)"
        try:
            logger.error(message, *args, exc_info=exc, extra={"request_id": req.request_id})
        except KeyError:  # a record factory that sets request_id itself: no `extra` then
            logger.error(message, *args, exc_info=exc)
        try:
            exc._reported = True  # type: ignore[attr-defined]
        except AttributeError:  # pragma: no cover - exceptions with __slots__
            pass

    async def _on_error(self, exc: Exception, req: Request, res: Response) -> None:
        self._report(exc, req)
        stream, res.stream = res.stream, None
        close = getattr(stream, "aclose", None)
        if close is not None:  # a streamed answer replaced by the error: stop its source
            await close()
        self._render(exc, req, res)

    def _render(self, exc: Exception, req: Request, res: Response) -> None:
        if isinstance(exc, HTTPError):
            res.problem(exc.status, exc.detail, errors=exc.errors, title=exc.title, type=exc.type)
            for name, value in exc.headers.items():
                res.header(name, value)
            return
        if isinstance(exc, ClientDisconnect):
            res.problem(400, "The client disconnected")
            return
        res.problem(
            500,
            f"An unexpected error occurred; request id {req.request_id}",
            extra={"request_id": req.request_id},
        )

    # -- dispatch -----------------------------------------------------------------------
    async def _dispatch(self, req: Request, res: Response) -> None:
        route = req.route
        if route is not None:
            assert route.endpoint is not None
            await route.endpoint(req, res)
            return
        if req.allow is None:
            raise HTTPError(404, "No route matches this path")
        if req.method == "OPTIONS":
            res.status(204).header("Allow", req.allow)
            return
        raise HTTPError(405, "This path does not accept this method", headers={"Allow": req.allow})

    # -- ASGI ---------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            mounted = self._find_mount(scope["path"])
            if mounted is not None:
                await mounted(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1000})
        elif kind == "lifespan":
            await run_lifespan(receive, send, self._startup, self._shutdown, self.build)
        else:
            raise RuntimeError(f"unsupported ASGI scope type {kind!r}")

    def _find_mount(self, path: str) -> ASGIApp | None:
        for prefix, app in self._mounts:
            if _under(path, prefix):
                return app
        return None

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        chain = self._chain
        if chain is None:
            self.build()
            chain = self._chain
            assert chain is not None
        if self._mount_chains:
            path = scope["path"]
            for prefix, mount_chain in self._mount_chains:
                if _under(path, prefix):
                    chain = mount_chain
                    break
        content_type = content_length = incoming = None
        for name, value in scope["headers"]:  # one pass for the headers every request needs
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                content_length = value.decode("latin-1")
            elif name == b"x-request-id":
                incoming = value.decode("latin-1")
        request_id = (incoming and incoming_request_id(incoming)) or self._new_request_id()
        req = Request(
            scope,
            receive,
            request_id=request_id,
            body_limit=self.body_limit,
            content_type=content_type,
            content_length=content_length,
            scanned=True,
        )
        res = Response()
        if chain is self._chain:
            assert self._router is not None
            found = self._router.match(req.method, req.path)
            req.route = found.route
            req.path_params = found.params
            req.allow = found.allow
        try:
            await chain(req, res)
        except Exception as exc:
            await self._on_error(exc, req, res)
        if req.body_cut_short:
            if await req.drain(DRAIN_BYTES, DRAIN_SECONDS):
                res.headers.pop("connection", None)  # the whole body arrived: keep-alive is fine
            else:
                res.headers["connection"] = "close"
        await res.send_to(send, request_id=request_id, head=req.method == "HEAD")


def _under(path: str, prefix: str) -> bool:
    return path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/")
