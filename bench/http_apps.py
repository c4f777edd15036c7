"""The same validated JSON route in our framework and in Starlette, for bench/http_bench.py.

`bare` is the floor: a plain ASGI callable on the same uvicorn.
POST /teams: JSON body (415 for other types, 400 malformed, 422 invalid), answers 201 JSON.
Both sides use orjson and the same asgi_app.validation schema, so only the framework differs."""

from __future__ import annotations

import sys
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response as StarletteResponse
from starlette.routing import Route as StarletteRoute

from asgi_app import validation as v
from asgi_app.http import App, Request, Response

TEAM = v.object(
    {
        "name": v.string().min(1),
        "score": v.int().min(0),
        "primaryColor": v.string().min(1),
        "players": v.array(v.string()).optional(),
    }
)


# -- ours ----------------------------------------------------------------------------------
async def create_team(req: Request, res: Response) -> None:
    res.status(201).json({"ok": True, "team": req.body_value})


ours = App()
ours.post("/teams", create_team, body=TEAM)


# -- Starlette ------------------------------------------------------------------------------
def _problem(status: int, detail: str, errors: Any = None) -> StarletteResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": "", "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return StarletteResponse(orjson.dumps(body), status, media_type="application/problem+json")


async def starlette_create_team(request: StarletteRequest) -> StarletteResponse:
    mime = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if mime != "application/json":
        return _problem(415, "expected application/json")
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        return _problem(400, f"line {exc.lineno} column {exc.colno}")
    result = TEAM.safe_parse(data)
    if not result.ok:
        assert result.error is not None
        return _problem(422, "invalid", result.error.to_list())
    return StarletteResponse(
        orjson.dumps({"ok": True, "team": result.value}), 201, media_type="application/json"
    )


starlette = Starlette(routes=[StarletteRoute("/teams", starlette_create_team, methods=["POST"])])


# -- the floor: a bare ASGI callable --------------------------------------------------------
async def bare(scope: Any, receive: Any, send: Any) -> None:
    """What uvicorn alone costs: read the body, answer a fixed body (GET / its text, a POST
    a small JSON object; POST /teams 201 as the routes above). Handles the lifespan."""
    await _answer(scope, receive, send, (), log=False)


#: What the server's `GET /` carries besides content-type and content-length (CONTRACT.md:
#: a request id, CORS's Vary, the security headers). bench/http_bench.py checks that the
#: server's answer has exactly these names.
CONTRACT_HEADERS = (
    (b"x-request-id", b"6902470100001e5c"),
    (b"vary", b"Origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
#: The server's access line for a GET / (asgi_app.access, JSON), prebuilt.
ACCESS_LINE = (
    '{"ts":"2026-12-01T18:46:33.177291+00:00","level":"INFO","logger":"asgi_app.access",'
    '"msg":"GET / 200","request_id":"6902470100001e5c","method":"GET","path":"/","status":200,'
    '"duration_ms":0.04,"client":"127.0.0.1"}\n'
)


async def contract_floor(scope: Any, receive: Any, send: Any) -> None:
    """The least an app answering as the contract asks can cost on this uvicorn: `bare` plus
    the headers every answer must carry and one access line per request, written to stderr
    as the server's log handler writes it (write, then flush). Nothing routed, formatted,
    scrubbed or timed: every value is prebuilt."""
    await _answer(scope, receive, send, CONTRACT_HEADERS, log=True)


async def _answer(
    scope: Any, receive: Any, send: Any, extra: tuple[tuple[bytes, bytes], ...], *, log: bool
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    if scope["method"] == "GET":
        status, body, media = 200, b"App is running", b"text/plain; charset=utf-8"
    else:
        status = 201 if scope["path"] == "/teams" else 200
        body, media = b'{"ok":true,"overlay":"default","clients":0}', b"application/json"
    headers = [(b"content-type", media), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    if log:
        stream = sys.stderr
        stream.write(ACCESS_LINE)
        stream.flush()
