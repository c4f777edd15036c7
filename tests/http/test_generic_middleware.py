"""The generic middleware factories, over real HTTP, on normal and error answers alike."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from asgi_app.http import App, Request, Response
from asgi_app.http.middleware import (
    DEFAULT_CSP,
    TokenBuckets,
    cors,
    rate_limit,
    require_origin,
    require_token,
    security_headers,
)
from gateway.clock import Clocks
from tests.http.helpers import TeamSchema
from tests.support.harness.server import serve

ORIGIN = "https://league.example"
TOKEN = "t" * 40


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _text(req: Request, res: Response) -> None:
    res.text("ok")


async def _page(req: Request, res: Response) -> None:
    res.html("<p>hi</p>")


async def _boom(req: Request, res: Response) -> None:
    raise RuntimeError("internal")


def _app(clock: FakeClock) -> App:
    app = App(body_limit=64)
    app.use(security_headers())
    app.use(cors(ORIGIN + "/"))
    limited = rate_limit(3, clocks=Clocks(monotonic=clock))
    guarded = app.group(require_origin(ORIGIN), limited, require_token(TOKEN))
    app.get("/", _text)
    app.get("/page", _page)
    app.get("/boom", _boom)
    app.post("/teams", _text, body=TeamSchema())
    guarded.get("/secret", _text)
    guarded.post("/secret", _text)
    return app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def client(clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(_app(clock)) as base, httpx.AsyncClient(base_url=base) as c:
        yield c


SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def _assert_security(r: httpx.Response) -> None:
    for name, value in SECURITY.items():
        assert r.headers.get(name) == value, (r.status_code, name)


async def test_security_headers_on_every_answer(client: httpx.AsyncClient) -> None:
    answers = [
        await client.get("/"),
        await client.get("/missing"),
        await client.delete("/"),
        await client.get("/boom"),
        await client.post(
            "/teams", content=b"x" * 100, headers={"content-type": "application/json"}
        ),
        await client.post("/teams", content=b"{", headers={"content-type": "application/json"}),
        await client.get("/secret"),
    ]
    assert [r.status_code for r in answers] == [200, 404, 405, 500, 413, 400, 401]
    for r in answers:
        _assert_security(r)
        assert "content-security-policy" not in r.headers  # not HTML


async def test_csp_only_on_html_and_settable(client: httpx.AsyncClient) -> None:
    r = await client.get("/page")
    assert r.headers["content-security-policy"] == DEFAULT_CSP
    app = App()
    app.use(security_headers(content_security_policy="default-src 'none'", frame_options=None))

    async def own(req: Request, res: Response) -> None:
        res.header("X-Frame-Options", "SAMEORIGIN").html("x")

    app.get("/", _page)
    app.get("/own", own)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as c:
        r = await c.get("/")
        assert r.headers["content-security-policy"] == "default-src 'none'"
        assert "x-frame-options" not in r.headers
        assert (await c.get("/own")).headers["x-frame-options"] == "SAMEORIGIN"


async def test_cors_allows_only_the_configured_origin(client: httpx.AsyncClient) -> None:
    r = await client.get("/", headers={"Origin": ORIGIN})
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert r.headers["vary"] == "Origin"
    assert "x-request-id" in r.headers["access-control-expose-headers"].lower()
    other = await client.get("/", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    assert other.headers["vary"] == "Origin"
    assert "access-control-allow-origin" not in (await client.get("/")).headers


async def test_cors_headers_on_errors_too(client: httpx.AsyncClient) -> None:
    for method, path in (("GET", "/missing"), ("PATCH", "/"), ("GET", "/boom"), ("GET", "/secret")):
        r = await client.request(method, path, headers={"Origin": ORIGIN})
        assert r.status_code >= 400
        assert r.headers["access-control-allow-origin"] == ORIGIN, (method, path)
        assert r.headers["vary"] == "Origin"


async def test_cors_preflight_is_204(client: httpx.AsyncClient) -> None:
    r = await client.options(
        "/secret",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "Authorization" in r.headers["access-control-allow-headers"]
    assert r.headers["access-control-max-age"] == "600"
    _assert_security(r)
    # a preflight from another origin gets no CORS grant (plain OPTIONS answer)
    r = await client.options(
        "/secret",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (TOKEN, 200),
        (f"Bearer {TOKEN}", 200),
        (f"bearer {TOKEN}", 200),
        (None, 401),
        ("", 401),
        ("Bearer", 401),
        (f"Bearer {TOKEN}x", 401),
        (TOKEN[:-1], 401),
        (f"Basic {TOKEN}", 401),
    ],
)
async def test_require_token(client: httpx.AsyncClient, value: str | None, status: int) -> None:
    headers = {"Authorization": value} if value is not None else {}
    r = await client.get("/secret", headers=headers)
    assert r.status_code == status
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.headers["content-type"] == "application/problem+json"
        assert TOKEN not in r.text


async def test_require_token_custom_header() -> None:
    app = App()
    app.get("/", _text, middleware=[require_token("abc", header="X-Token")])
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as c:
        assert (await c.get("/", headers={"X-Token": "abc"})).status_code == 200
        assert (await c.get("/", headers={"Authorization": "abc"})).status_code == 401
    with pytest.raises(ValueError):
        require_token("")


async def test_require_origin(client: httpx.AsyncClient) -> None:
    auth = {"Authorization": TOKEN}
    assert (await client.get("/secret", headers=auth)).status_code == 200
    assert (await client.get("/secret", headers={**auth, "Origin": ORIGIN})).status_code == 200
    r = await client.get("/secret", headers={**auth, "Origin": "https://evil.example"})
    assert r.status_code == 403
    assert r.json()["title"] == "Forbidden"


async def test_rate_limit_429_with_retry_after_and_refill(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    auth = {"Authorization": TOKEN}
    statuses = [(await client.get("/secret", headers=auth)).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    r = await client.get("/secret", headers=auth)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "20"  # 3 per minute: one token every 20 s
    assert r.json()["status"] == 429
    # public routes are not limited
    assert (await client.get("/")).status_code == 200
    clock.now += 19.5
    assert (await client.get("/secret", headers=auth)).headers["retry-after"] == "1"
    clock.now += 0.5
    assert (await client.get("/secret", headers=auth)).status_code == 200
    assert (await client.get("/secret", headers=auth)).status_code == 429


def test_token_buckets_keep_memory_bounded_and_evict_the_oldest() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(1, 60.0, max_keys=3, clock=clock)
    for key in ("a", "b", "c"):
        assert buckets.take(key)[0]
    assert not buckets.take("a")[0]  # "a" is now the most recent
    assert buckets.take("d")[0]  # evicts "b", the least recently seen
    assert len(buckets) == 3
    assert buckets.take("b")[0]  # "b" starts afresh; "c" was evicted for it
    assert not buckets.take("a")[0]
    for i in range(1000):
        buckets.take(f"k{i}")
    assert len(buckets) == 3


async def test_rate_limit_by_custom_key() -> None:
    clock = FakeClock()
    app = App()
    by_user = rate_limit(
        1, key=lambda req: req.headers.get("x-user") or "", clocks=Clocks(monotonic=clock)
    )
    app.use(by_user)
    app.get("/", _text)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as c:
        assert (await c.get("/", headers={"X-User": "a"})).status_code == 200
        assert (await c.get("/", headers={"X-User": "b"})).status_code == 200
        assert (await c.get("/", headers={"X-User": "a"})).status_code == 429
