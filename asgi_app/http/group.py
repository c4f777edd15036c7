"""Registering routes: `get/post/...` shared by the app and route groups.

A route group registers its routes on its parent with its own middleware first (after the
global middleware, before the route's own) and its `meta` merged in: this is how an
application gives a set of routes their access rules without the framework knowing them.

    guarded = app.group(require_token(token), meta={"security": ["token"]})
    guarded.get("/metrics", metrics)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from asgi_app.http.routing import BodySchema, Route
from asgi_app.http.types import Handler, Middleware

if TYPE_CHECKING:
    from typing_extensions import Unpack


class RouteOptions(TypedDict, total=False):
    """What `route` takes besides path, methods and handler (for get/post/...)."""

    middleware: Sequence[Middleware]
    body: BodySchema | None
    summary: str
    tags: Sequence[str]
    meta: Mapping[str, Any]


class RouteRegistrar:
    """`route(path, methods, handler, **options)` plus one shortcut per method."""

    def route(
        self,
        path: str,
        methods: Iterable[str],
        handler: Handler,
        **options: Unpack[RouteOptions],
    ) -> Route:
        raise NotImplementedError

    def group(self, *middleware: Middleware, meta: Mapping[str, Any] | None = None) -> RouteGroup:
        """Routes registered through the group run `middleware` and carry `meta`."""
        return RouteGroup(self, middleware, meta or {})

    def get(self, path: str, handler: Handler, **options: Unpack[RouteOptions]) -> Route:
        return self.route(path, ("GET",), handler, **options)

    def post(self, path: str, handler: Handler, **options: Unpack[RouteOptions]) -> Route:
        return self.route(path, ("POST",), handler, **options)

    def put(self, path: str, handler: Handler, **options: Unpack[RouteOptions]) -> Route:
        return self.route(path, ("PUT",), handler, **options)

    def patch(self, path: str, handler: Handler, **options: Unpack[RouteOptions]) -> Route:
        return self.route(path, ("PATCH",), handler, **options)

    def delete(self, path: str, handler: Handler, **options: Unpack[RouteOptions]) -> Route:
        return self.route(path, ("DELETE",), handler, **options)


class RouteGroup(RouteRegistrar):
    def __init__(
        self,
        parent: RouteRegistrar,
        middleware: Sequence[Middleware],
        meta: Mapping[str, Any],
    ) -> None:
        self.parent = parent
        self.middleware = tuple(middleware)
        self.meta = dict(meta)

    def route(
        self,
        path: str,
        methods: Iterable[str],
        handler: Handler,
        **options: Unpack[RouteOptions],
    ) -> Route:
        options["middleware"] = (*self.middleware, *options.get("middleware", ()))
        options["meta"] = {**self.meta, **options.get("meta", {})}
        return self.parent.route(path, methods, handler, **options)
