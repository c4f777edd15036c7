"""Router: typed convertors, 404, 405 with a sorted Allow, HEAD and OPTIONS, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from asgi_app.http import App, Request, Response
from asgi_app.http.routing import Route, Router, compile_path
from tests.support.harness.server import serve


async def _echo_params(req: Request, res: Response) -> None:
    res.json(
        {
            "params": req.path_params,
            "types": {k: type(v).__name__ for k, v in req.path_params.items()},
        }
    )


async def _ok(req: Request, res: Response) -> None:
    res.text(f"{req.method} ok")


def _app() -> App:
    app = App()
    app.get("/items/{id:int}", _echo_params)
    app.get("/items/new", _ok)  # static beats parameterised
    app.get("/teams/{name}", _echo_params)
    app.get("/files/{rest:path}", _echo_params)
    app.get("/things", _ok)
    app.post("/things", _ok)
    app.delete("/things", _ok)
    app.put("/things", _ok)
    app.route("/both/{a}/{b:int}", ["GET", "PATCH"], _echo_params)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with serve(_app()) as base, httpx.AsyncClient(base_url=base) as c:
        yield c


async def test_int_convertor_gives_an_int(client: httpx.AsyncClient) -> None:
    r = await client.get("/items/42")
    assert r.status_code == 200
    assert r.json() == {"params": {"id": 42}, "types": {"id": "int"}}


async def test_int_convertor_refuses_non_digits(client: httpx.AsyncClient) -> None:
    r = await client.get("/items/4x")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 404


async def test_static_route_wins_over_parameter(client: httpx.AsyncClient) -> None:
    r = await client.get("/items/new")
    assert r.text == "GET ok"


async def test_str_convertor_is_one_segment(client: httpx.AsyncClient) -> None:
    r = await client.get("/teams/blue%20team")
    assert r.json()["params"] == {"name": "blue team"}
    assert (await client.get("/teams/a/b")).status_code == 404


async def test_path_convertor_takes_the_rest(client: httpx.AsyncClient) -> None:
    r = await client.get("/files/a/b/c.txt")
    assert r.json()["params"] == {"rest": "a/b/c.txt"}


async def test_several_params(client: httpx.AsyncClient) -> None:
    r = await client.patch("/both/x/7")
    assert r.json() == {"params": {"a": "x", "b": 7}, "types": {"a": "str", "b": "int"}}


async def test_unknown_path_is_a_404_problem_without_echoing_the_path(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/nope-<script>")
    assert r.status_code == 404
    body = r.json()
    assert set(body) == {"type", "title", "status", "detail"}
    assert body["title"] == "Not Found"
    assert "script" not in r.text and "nope" not in r.text


async def test_405_has_sorted_allow(client: httpx.AsyncClient) -> None:
    r = await client.patch("/things")
    assert r.status_code == 405
    assert r.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, POST, PUT"
    assert r.json()["status"] == 405


async def test_405_on_parameterised_path(client: httpx.AsyncClient) -> None:
    r = await client.post("/items/1")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD, OPTIONS"


async def test_head_is_answered_wherever_get_is_without_a_body(
    client: httpx.AsyncClient,
) -> None:
    get = await client.get("/teams/abc")
    head = await client.head("/teams/abc")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == "application/json"
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))


async def test_options_without_cors_is_204_with_allow(client: httpx.AsyncClient) -> None:
    r = await client.options("/things")
    assert r.status_code == 204
    assert r.content == b""
    assert r.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, POST, PUT"
    assert (await client.options("/missing")).status_code == 404


async def test_explicit_head_and_options_routes_win() -> None:
    app = App()

    async def head(req: Request, res: Response) -> None:
        res.header("X-Head", "mine")

    async def options(req: Request, res: Response) -> None:
        res.status(200).text("custom options")

    app.get("/x", _ok)
    app.route("/x", ["HEAD", "OPTIONS"], head)
    app.route("/y", ["OPTIONS"], options)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as c:
        assert (await c.head("/x")).headers["x-head"] == "mine"
        assert (await c.options("/y")).text == "custom options"


def test_compile_path_rejects_bad_templates() -> None:
    for bad in ("items", "/a/{id:float}", "/a/{id}/{id}", "/a/{id", "/a/}"):
        with pytest.raises(ValueError):
            compile_path(bad)


def test_duplicate_method_on_a_path_is_refused() -> None:
    route = Route("/a", ("GET",), _ok)
    with pytest.raises(ValueError, match="twice"):
        Router([route, Route("/a", ("GET", "POST"), _ok)])


def test_router_match_outcomes() -> None:
    router = Router([Route("/a/{n:int}", ("GET",), _ok)])
    hit = router.match("GET", "/a/5")
    assert hit.route is not None and hit.params == {"n": 5}
    miss = router.match("POST", "/a/5")
    assert miss.route is None and miss.allow == "GET, HEAD, OPTIONS"
    nothing = router.match("GET", "/b")
    assert nothing.route is None and nothing.allow is None


def test_routes_lists_metadata() -> None:
    app = App()
    route = app.post("/o/{name}", _ok, summary="store", tags=("overlay",), meta={"k": 1})
    assert app.routes == [route]
    assert route.methods == ("POST",) and route.summary == "store"
    assert route.tags == ("overlay",) and route.meta == {"k": 1}


def test_the_api_document_reads_the_router_grammar() -> None:
    """One grammar: the OpenAPI parameters come from the router's convertors."""
    from asgi_app import openapi
    from asgi_app.http.routing import CONVERTORS, path_parameters

    template, params = openapi.split_path("/a/{id:int}/{rest:path}/{name}")
    assert template == "/a/{id}/{rest}/{name}"
    assert [p["schema"] for p in params] == [
        dict(CONVERTORS["int"].schema),
        dict(CONVERTORS["path"].schema),
        dict(CONVERTORS["str"].schema),
    ]
    assert path_parameters("/x/{n:int}")[1] == [("n", CONVERTORS["int"])]
    with pytest.raises(ValueError, match="unknown convertor"):
        path_parameters("/x/{n:float}")
