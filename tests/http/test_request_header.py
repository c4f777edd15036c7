"""Request.header(name): one header, the same answer as `headers.get`, built or not."""

from __future__ import annotations

from typing import Any

from asgi_app.http import Request
from asgi_app.http.response import _ENCODED_MAX, _encode

RAW = [
    (b"host", b"example.test"),
    (b"Origin", b"https://a.example"),
    (b"accept", b"text/html"),
    (b"accept", b"application/json"),
    (b"x-latin", "caf\u00e9".encode("latin-1")),
]


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


def _request() -> Request:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": list(RAW)}
    return Request(scope, _receive, request_id="r1", body_limit=10, scanned=True)


def test_header_answers_as_the_header_map() -> None:
    names = ["host", "origin", "ORIGIN", "accept", "x-latin", "missing"]
    lazy = {name: _request().header(name) for name in names}
    built = _request()
    mapped = {name: built.headers.get(name) for name in names}
    assert lazy == mapped
    assert lazy["accept"] == "text/html, application/json"
    assert lazy["origin"] == "https://a.example" and lazy["missing"] is None
    assert {name: built.header(name) for name in names} == mapped  # once `headers` is built


def test_encoded_header_cache_is_bounded() -> None:
    for i in range(_ENCODED_MAX + 50):
        assert _encode(f"value-{i}") == f"value-{i}".encode("latin-1")
    from asgi_app.http import response

    assert len(response._ENCODED) <= _ENCODED_MAX
