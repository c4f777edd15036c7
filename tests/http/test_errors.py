"""Errors: problem+json, 500 with a request id and nothing internal, logged once; request ids."""

from __future__ import annotations

import logging

import httpx
import pytest

from asgi_app.http import App, HTTPError, Request, Response
from tests.support.harness.server import serve


def _app() -> App:
    app = App(request_id_factory=lambda: "generated-id")

    async def boom(req: Request, res: Response) -> None:
        raise RuntimeError("database password is hunter2")

    async def teapot(req: Request, res: Response) -> None:
        raise HTTPError(
            409,
            "Already exists",
            errors=[{"path": ["a"], "pointer": "/a", "code": "dup", "message": "taken"}],
            headers={"Retry-After": "3"},
        )

    async def rid(req: Request, res: Response) -> None:
        res.text(req.request_id)

    async def send_status(req: Request, res: Response) -> None:
        res.send_status(int(req.path_params["code"]))

    app.get("/boom", boom)
    app.get("/conflict", teapot)
    app.get("/rid", rid)
    app.get("/status/{code:int}", send_status)
    return app


async def test_500_has_request_id_nothing_internal_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="asgi_app.http")
    async with serve(_app()) as base, httpx.AsyncClient(base_url=base) as c:
        r = await c.get("/boom", headers={"X-Request-Id": "abc-123"})
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-request-id"] == "abc-123"
    body = r.json()
    assert body["request_id"] == "abc-123" and "abc-123" in body["detail"]
    assert body["title"] == "Internal Server Error"
    for secret in ("hunter2", "RuntimeError", "Traceback", "boom"):
        assert secret not in r.text
    records = [rec for rec in caplog.records if rec.name == "asgi_app.http"]
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert "abc-123" in records[0].getMessage()
    assert getattr(records[0], "request_id", None) == "abc-123"
    assert records[0].exc_info is not None and records[0].exc_info[0] is RuntimeError


async def test_http_error_renders_problem_with_errors_and_headers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="asgi_app.http")
    async with serve(_app()) as base, httpx.AsyncClient(base_url=base) as c:
        r = await c.get("/conflict")
    assert r.status_code == 409
    assert r.headers["retry-after"] == "3"
    assert r.json() == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "Already exists",
        "errors": [{"path": ["a"], "pointer": "/a", "code": "dup", "message": "taken"}],
    }
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("abc-123", True),
        ("A.b_c:9", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("has space", False),
        ("<script>", False),
        ("", False),
    ],
)
async def test_incoming_request_id_only_when_short_and_safe(sent: str, kept: bool) -> None:
    async with serve(_app()) as base, httpx.AsyncClient(base_url=base) as c:
        r = await c.get("/rid", headers={"X-Request-Id": sent})
    expected = sent if kept else "generated-id"
    assert r.text == expected
    assert r.headers["x-request-id"] == expected


async def test_every_response_has_a_request_id() -> None:
    app = App()

    async def ok(req: Request, res: Response) -> None:
        res.text("ok")

    app.get("/", ok)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as c:
        ids = {(await c.get(path)).headers["x-request-id"] for path in ("/", "/", "/missing")}
        assert (await c.post("/")).headers["x-request-id"]
    assert len(ids) == 3 and all(len(i) == 16 for i in ids)


async def test_send_status_uses_the_reason_phrase() -> None:
    async with serve(_app()) as base, httpx.AsyncClient(base_url=base) as c:
        r = await c.get("/status/418")
        assert (r.status_code, r.text) == (418, "I'm a Teapot")
        r = await c.get("/status/204")
        assert (r.status_code, r.content) == (204, b"")
        assert "content-length" not in r.headers


def test_http_error_refuses_non_error_status() -> None:
    with pytest.raises(ValueError):
        HTTPError(200)


def test_response_refuses_header_injection() -> None:
    with pytest.raises(ValueError):
        Response().header("X-A", "1\r\nSet-Cookie: a=b")
