"""The overlay's HTTP routes over a real uvicorn: access, validation, state, page, static."""

from __future__ import annotations

from pathlib import Path

import pytest

from asgi_app.overlay.routes import VIEW_CSP
from asgi_app.overlay.state import DEFAULT_STATE, view_key
from tests.overlay.app_factory import ORIGIN, TOKEN
from tests.overlay.helpers import AUTH, Served, overlay_data, served, team


@pytest.mark.parametrize("path", ["/overlay", "/overlay/stage"])
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_protected_routes_refuse_missing_wrong_token_and_origin(
    server: Served, method: str, path: str
) -> None:
    body = overlay_data()
    none = await server.http.request(method, path, json=body)
    wrong = await server.http.request(method, path, json=body, headers={"Authorization": "x"})
    bearer_wrong = await server.http.request(
        method, path, json=body, headers={"Authorization": "Bearer " + TOKEN + "x"}
    )
    origin = await server.http.request(
        method, path, json=body, headers={**AUTH, "Origin": "http://evil.test"}
    )
    assert [none.status_code, wrong.status_code, bearer_wrong.status_code] == [401, 401, 401]
    assert origin.status_code == 403
    for answer in (none, origin):
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert (await server.http.get("/overlay", headers=AUTH)).json() == DEFAULT_STATE


async def test_get_returns_default_then_posted_state(server: Served) -> None:
    assert (await server.http.get("/overlay", headers=AUTH)).json() == DEFAULT_STATE
    state = overlay_data(blue=1, red=2, max_score=3, cameraControlsCover=True, stage="finals")
    answer = await server.http.post(
        "/overlay/finals",
        json=state,
        headers={"Authorization": "Bearer " + TOKEN, "Origin": ORIGIN},
    )
    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "overlay": "finals", "clients": 0}
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert (await server.http.get("/overlay/finals", headers=AUTH)).json() == state
    assert (await server.http.get("/overlay", headers=AUTH)).json() == DEFAULT_STATE
    await server.post(overlay_data(red=1))
    assert (await server.http.get("/overlay/default", headers=AUTH)).json()["red"]["score"] == 1


async def test_post_lists_every_issue(server: Served) -> None:
    bad = {
        "blue": team("Same", 3),
        "red": {**team("Same", -1), "logoUrl": ""},
        "maxScore": 2,
    }
    answer = await server.post(bad)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    paths = sorted(tuple(issue["path"]) for issue in answer.json()["errors"])
    assert paths == sorted(
        [
            ("red", "score"),
            ("red", "logoUrl"),
            ("red", "name"),
            ("blue", "score"),
        ]
    )
    assert "Same" not in answer.text  # input values are not echoed
    assert (await server.http.get("/overlay", headers=AUTH)).json() == DEFAULT_STATE


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"maxScore": 0}, ["maxScore"]),
        ({"cameraControlsCover": "yes"}, ["cameraControlsCover"]),
        ({"maxScore": 1.5}, ["maxScore"]),
        ({"blue": None}, ["blue"]),
        ({"red": {**team("R"), "primaryColor": ""}}, ["red", "primaryColor"]),
        ({"blue": {**team("B"), "score": True}}, ["blue", "score"]),
    ],
)
async def test_post_refuses_each_rule(
    server: Served, change: dict[str, object], path: list[str]
) -> None:
    answer = await server.post({**overlay_data(), **change})
    assert answer.status_code == 422
    assert [issue["path"] for issue in answer.json()["errors"]] == [path]


async def test_post_needs_json(server: Served) -> None:
    text = await server.http.post(
        "/overlay", content=b"x", headers={**AUTH, "Content-Type": "text/plain"}
    )
    broken = await server.http.post(
        "/overlay", content=b"{", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert (text.status_code, broken.status_code) == (415, 400)


@pytest.mark.parametrize("name", ["a.b", "x" * 65, "%C3%A9t%C3%A9", "a%20b"])
async def test_unsafe_overlay_names_are_not_found(server: Served, name: str) -> None:
    assert (await server.http.get(f"/overlay/{name}", headers=AUTH)).status_code == 404
    assert (await server.post(overlay_data(), name=name)).status_code == 404
    assert (await server.http.get(f"/overlay/view/{name}")).status_code == 404
    assert list((server.parts.store.directory).iterdir()) == []  # type: ignore[attr-defined]


async def test_preflight_from_origin(server: Served) -> None:
    answer = await server.http.options(
        "/overlay/x",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == ORIGIN


async def test_rate_limited(tmp_path: Path) -> None:
    async with served(tmp_path, per_minute=3) as server:
        codes = [(await server.http.get("/overlay", headers=AUTH)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]


async def test_view_page(server: Served) -> None:
    key = view_key(TOKEN, "finals")
    page = await server.http.get(f"/overlay/view/finals?key={key}&theme=dark")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == VIEW_CSP
    assert "script-src 'self'" in VIEW_CSP and "unsafe-inline" not in VIEW_CSP
    html = page.text
    assert f'data-key="{key}"' in html
    assert 'data-overlay="finals"' in html
    assert 'data-theme="dark"' in html
    assert TOKEN not in html
    assert "<script>" not in html  # scripts come from files only
    assert '<script src="/overlay/static/socket.io.min.js" defer></script>' in html


async def test_view_page_sanitises_query(server: Served) -> None:
    page = await server.http.get('/overlay/view/x?key="><script>&theme=<b>')
    assert 'data-key=""' in page.text
    assert 'data-theme="transparent"' in page.text
    assert "<b>" not in page.text


async def test_static_files(server: Served) -> None:
    script = await server.http.get("/overlay/static/overlay.js")
    css = await server.http.get("/overlay/static/overlay.css")
    client = await server.http.get("/overlay/static/socket.io.min.js")
    missing = await server.http.get("/overlay/static/routes.py")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert 'io("/overlay"' in script.text
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert client.status_code == 200, "run `make node` (npm ci) first"
    assert "Socket.IO" in client.text[:200]
    assert missing.status_code == 404


async def test_missing_client_library_is_a_clear_503(tmp_path: Path) -> None:
    async with served(tmp_path, client_js=tmp_path / "absent.js") as server:
        answer = await server.http.get("/overlay/static/socket.io.min.js")
        assert answer.status_code == 503
        assert "make node" in answer.json()["detail"]
