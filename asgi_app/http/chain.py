"""Composing Express-style middleware into one callable, once, at build time.

Every `next()` is an error boundary: an exception raised below it is rendered into `res`
(as problem+json) before `next()` returns, so the
middleware above still runs its "after" part and can add headers to error answers too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from asgi_app.http.request import Request
from asgi_app.http.response import Response
from asgi_app.http.types import Handler, Middleware

OnError = Callable[[Exception, Request, Response], Awaitable[None]]


def _layer(middleware: Middleware, downstream: Handler, on_error: OnError) -> Handler:
    # A plain function that hands back the middleware's coroutine: one coroutine less per
    # layer and request than an `async def` that awaits it.
    def run(req: Request, res: Response) -> Awaitable[None]:
        async def next_() -> None:
            try:
                await downstream(req, res)
            except Exception as exc:
                await on_error(exc, req, res)

        return middleware(req, res, next_)

    return run


def compose(middleware: Sequence[Middleware], endpoint: Handler, on_error: OnError) -> Handler:
    """[m1, m2], h -> m1 wraps m2 wraps h. With no middleware the endpoint itself."""
    handler = endpoint
    for mw in reversed(middleware):
        handler = _layer(mw, handler, on_error)
    return handler
