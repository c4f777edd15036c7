"""Middleware: Express-style order, per route group, per route, error boundaries, built once."""

from __future__ import annotations

import logging

import httpx
import pytest

from asgi_app.http import App, HTTPError, Next, Request, Response
from asgi_app.http.types import Middleware
from tests.support.harness.server import serve


def tracer(name: str, log: list[str]) -> Middleware:
    async def trace(req: Request, res: Response, next: Next) -> None:
        log.append(f"{name}>")
        await next()
        log.append(f"<{name}")
        res.append_header("X-Trace", name)

    return trace


async def test_global_and_route_middleware_run_in_order() -> None:
    log: list[str] = []
    app = App()
    app.use(tracer("g1", log))
    app.use(tracer("g2", log))
    group = app.group(tracer("p", log))

    async def handler(req: Request, res: Response) -> None:
        log.append("handler")
        res.text("ok")

    group.get("/r", handler, middleware=[tracer("r1", log), tracer("r2", log)])
    app.get("/plain", handler)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as c:
        r = await c.get("/r")
        assert log == [
            "g1>",
            "g2>",
            "p>",
            "r1>",
            "r2>",
            "handler",
            "<r2",
            "<r1",
            "<p",
            "<g2",
            "<g1",
        ]
        assert r.headers["x-trace"] == "r2, r1, p, g2, g1"
        log.clear()
        await c.get("/plain")
        assert log == ["g1>", "g2>", "handler", "<g2", "<g1"]
        log.clear()
        r = await c.get("/missing")  # global middleware runs for 404 too
        assert log == ["g1>", "g2>", "<g2", "<g1"]
        assert r.status_code == 404 and r.headers["x-trace"] == "g2, g1"


async def test_middleware_can_answer_without_calling_next() -> None:
    app = App()

    async def gate(req: Request, res: Response, next: Next) -> None:
        if req.query_param("let") == "1":
            await next()
        else:
            res.status(402).text("pay")

    async def handler(req: Request, res: Response) -> None:
        res.text("in")

    app.use(gate)
    app.get("/", handler)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as c:
        assert (await c.get("/")).status_code == 402
        assert (await c.get("/?let=1")).text == "in"


async def test_errors_are_rendered_inside_the_chain_so_outer_middleware_decorates_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="asgi_app.http")
    seen: list[int] = []
    app = App()

    async def outer(req: Request, res: Response, next: Next) -> None:
        await next()
        seen.append(res.status_code)
        res.header("X-Outer", "yes")

    async def failing_mw(req: Request, res: Response, next: Next) -> None:
        await next()
        raise ValueError("after next")

    async def handler(req: Request, res: Response) -> None:
        raise HTTPError(418, "teapot")

    async def fine(req: Request, res: Response) -> None:
        res.text("fine")

    app.use(outer)
    app.get("/tea", handler)
    app.get("/late", fine, middleware=[failing_mw])
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as c:
        r = await c.get("/tea")
        assert (r.status_code, r.headers["x-outer"]) == (418, "yes")
        r = await c.get("/late")
        assert (r.status_code, r.headers["x-outer"]) == (500, "yes")
    assert seen == [418, 500]
    assert len(caplog.records) == 1  # the ValueError, once


async def test_unexpected_errors_are_answered_500_and_logged_once_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="asgi_app.http")
    app = App()

    async def missing(req: Request, res: Response) -> None:
        raise KeyError("x")

    async def broken(req: Request, res: Response) -> None:
        raise RuntimeError("x")

    app.get("/missing", missing)
    app.get("/broken", broken)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as c:
        for path in ("/missing", "/broken"):
            r = await c.get(path)
            assert r.status_code == 500 and r.json()["status"] == 500
            assert r.json()["request_id"] == r.headers["x-request-id"]
        r = await c.get("/nothing-here")  # 404 from the router is no unexpected error
        assert r.status_code == 404
    # both unexpected exceptions are logged exactly once each
    assert [rec.exc_info[0] for rec in caplog.records if rec.exc_info] == [KeyError, RuntimeError]


async def test_chain_is_built_once_and_registration_closes() -> None:
    app = App()

    async def handler(req: Request, res: Response) -> None:
        res.text("x")

    route = app.get("/", handler)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as c:
        await c.get("/")
        endpoint = route.endpoint
        chain = app._chain
        await c.get("/")
        assert route.endpoint is endpoint and app._chain is chain and chain is not None
    with pytest.raises(RuntimeError):
        app.use(tracer("late", []))
    with pytest.raises(RuntimeError):
        app.get("/late", handler)
