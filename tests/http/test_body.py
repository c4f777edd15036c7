"""Body parsing over real HTTP: 400 with position, 413 (declared and streamed), 415, 422, forms."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from asgi_app.http import App, Request, Response
from asgi_app.http.body import json_too_deep
from tests.http.helpers import TeamSchema, open_raw, read_response
from tests.support.harness.server import serve

LIMIT = 1024


def _app() -> App:
    app = App(body_limit=LIMIT)

    async def create_team(req: Request, res: Response) -> None:
        res.status(201).json({"stored": req.body_value})

    async def echo_json(req: Request, res: Response) -> None:
        res.json({"got": await req.json()})

    async def echo_form(req: Request, res: Response) -> None:
        res.json(await req.form())

    async def body_size(req: Request, res: Response) -> None:
        res.json({"size": len(await req.body())})

    app.post("/teams", create_team, body=TeamSchema())
    app.post("/json", echo_json)
    app.post("/form", echo_form)
    app.post("/raw", body_size)
    return app


@pytest.fixture
async def base() -> AsyncIterator[str]:
    async with serve(_app()) as url:
        yield url


@pytest.fixture
async def client(base: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base) as c:
        yield c


GOOD = {"name": "Blue", "score": 1, "players": ["a"]}


async def test_valid_body_reaches_the_handler_typed(client: httpx.AsyncClient) -> None:
    r = await client.post("/teams", json=GOOD)
    assert r.status_code == 201
    assert r.json() == {"stored": GOOD}


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON; charset=UTF-8",
        'application/json;charset="utf-8"',
        "application/merge-patch+json",
        "application/vnd.api+json; charset=utf-8",
    ],
)
async def test_json_media_types_are_accepted(client: httpx.AsyncClient, content_type: str) -> None:
    r = await client.post(
        "/teams", content=b'{"name":"Blue","score":1}', headers={"content-type": content_type}
    )
    assert r.status_code == 201, r.text


async def test_other_charsets_are_decoded(client: httpx.AsyncClient) -> None:
    body = '{"name": "Bl\u00e9", "score": 2}'.encode("utf-16")
    r = await client.post(
        "/teams", content=body, headers={"content-type": "application/json; charset=utf-16"}
    )
    assert r.status_code == 201
    assert r.json()["stored"]["name"] == "Bl\u00e9"


async def test_unknown_charset_is_415(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/teams", content=b"{}", headers={"content-type": "application/json; charset=klingon"}
    )
    assert r.status_code == 415


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/jsonx", None]
)
async def test_json_route_given_another_type_is_415(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    r = await client.post("/teams", content=b'{"name":"Blue","score":1}', headers=headers)
    assert r.status_code == 415
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["title"] == "Unsupported Media Type"


async def test_malformed_json_is_400_with_position_and_no_input(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(
        "/teams",
        content=b'{\n  "name": "SECRETVALUE",\n  "score": tru\n}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert "line 3 column" in detail and "(char " in detail
    assert "SECRETVALUE" not in r.text and "tru" not in detail


async def test_empty_json_body_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post("/teams", content=b"", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert "empty" in r.json()["detail"]


async def test_422_lists_every_issue_with_its_path(client: httpx.AsyncClient) -> None:
    r = await client.post("/teams", json={"name": "", "score": -1, "players": ["ok", 5, "x", None]})
    assert r.status_code == 422
    problem = r.json()
    assert set(problem) == {"type", "title", "status", "detail", "errors"}
    assert problem["status"] == 422
    assert [(e["path"], e["pointer"]) for e in problem["errors"]] == [
        (["name"], "/name"),
        (["score"], "/score"),
        (["players", 1], "/players/1"),
        (["players", 3], "/players/3"),
    ]
    assert all(set(e) == {"path", "pointer", "code", "message"} for e in problem["errors"])


async def test_request_json_helper_and_cache(client: httpx.AsyncClient) -> None:
    r = await client.post("/json", json=[1, {"a": None}])
    assert r.json() == {"got": [1, {"a": None}]}
    bad = await client.post("/json", content=b"[1,", headers={"content-type": "application/json"})
    assert bad.status_code == 400


async def test_form_data(client: httpx.AsyncClient) -> None:
    r = await client.post("/form", data={"a": "1 2", "b": ["x", "y"], "empty": ""})
    assert r.json() == {"a": ["1 2"], "b": ["x", "y"], "empty": [""]}


async def test_malformed_form_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/form",
        content=b"a=%ff%fe",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400
    r = await client.post(
        "/form", content=b"noequals", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 400


async def test_body_at_the_limit_is_accepted(client: httpx.AsyncClient) -> None:
    r = await client.post("/raw", content=b"x" * LIMIT)
    assert r.json() == {"size": LIMIT}


async def test_413_from_content_length_before_reading_anything(base: str) -> None:
    # Announce a body far over the limit and send none of it: the answer must come anyway.
    reader, writer = await open_raw(base)
    writer.write(
        b"POST /teams HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: 10000000\r\n\r\n"
    )
    await writer.drain()
    response = await asyncio.wait_for(read_response(reader), timeout=10)
    writer.close()
    assert response.status == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["connection"] == "close"
    assert b'"status":413' in response.body


async def test_413_while_streaming_a_chunked_body_without_reading_the_rest(base: str) -> None:
    # Chunked, no Content-Length: send just past the limit and never finish the body.
    # A server that waited for the whole body would never answer.
    reader, writer = await open_raw(base)
    writer.write(
        b"POST /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n"
    )
    chunk = b"y" * 256
    for _ in range(LIMIT // len(chunk) + 1):
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    await writer.drain()
    response = await asyncio.wait_for(read_response(reader), timeout=10)
    assert response.status == 413
    assert response.headers["connection"] == "close"
    # and the server hangs up instead of draining the rest
    assert await asyncio.wait_for(reader.read(), timeout=10) == b""
    writer.close()


async def test_413_chunked_via_httpx_generator_stops_early(client: httpx.AsyncClient) -> None:
    sent = 0

    def endless() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(100_000):  # would be ~100 MB
            sent += 1
            yield b"z" * 1000

    async def agen() -> AsyncIterator[bytes]:
        for part in endless():
            yield part

    try:
        r = await client.post(
            "/teams", content=agen(), headers={"content-type": "application/json"}
        )
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        pass  # the server closed the connection while the client was still pushing the body
    else:
        assert r.status_code == 413
    assert sent < 10_000  # under a tenth of what the generator would send


async def test_413_is_read_by_httpx_after_a_chunked_body_somewhat_over_the_limit(
    client: httpx.AsyncClient,
) -> None:
    """The rest of the body (here 300 KiB) is drained before the 413 goes out: an ordinary
    client still sending reads the answer instead of a connection reset."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(300):
            yield b"q" * 1024

    for _ in range(3):  # and the connection stays usable: the body ended within the budget
        r = await client.post(
            "/teams", content=chunks(), headers={"content-type": "application/json"}
        )
        assert r.status_code == 413
        assert r.headers["content-type"] == "application/problem+json"
        assert "connection" not in r.headers
    assert (await client.post("/raw", content=b"ok")).json() == {"size": 2}


async def test_413_with_content_length_a_little_over_the_limit_is_read(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/raw", content=b"x" * (200 * 1024))
    assert r.status_code == 413


async def test_past_the_drain_budget_the_connection_closes(base: str) -> None:
    """Over 1 MiB more than the limit: 413 and the connection is closed, not read forever."""
    reader, writer = await open_raw(base)
    writer.write(
        b"POST /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n"
    )
    chunk = b"w" * 16384
    sent = 0
    closed = False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    try:
        while loop.time() < deadline and sent < 64 * 1024 * 1024:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            sent += len(chunk)
            if reader.at_eof():
                closed = True
                break
    except (ConnectionResetError, BrokenPipeError):
        closed = True
    writer.close()
    assert closed, "the server kept reading"
    assert sent < 8 * 1024 * 1024


async def test_a_slow_oversized_body_is_answered_within_the_drain_time(base: str) -> None:
    reader, writer = await open_raw(base)
    writer.write(
        b"POST /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n"
    )
    writer.write(b"%x\r\n%s\r\n" % (LIMIT + 1, b"s" * (LIMIT + 1)))
    await writer.drain()
    started = asyncio.get_running_loop().time()

    async def trickle() -> None:
        while True:
            writer.write(b"1\r\ns\r\n")
            await writer.drain()
            await asyncio.sleep(0.2)

    trickling = asyncio.create_task(trickle())
    try:
        response = await asyncio.wait_for(read_response(reader), timeout=10)
    finally:
        trickling.cancel()
        writer.close()
    waited = asyncio.get_running_loop().time() - started
    assert response.status == 413 and response.headers["connection"] == "close"
    assert 1.5 <= waited < 6


@pytest.mark.parametrize(
    "charset", ["rot13", "zlib", "base64", "hex", "punycode", "bz2", "unicode_escape", "utf-7"]
)
@pytest.mark.parametrize("path", ["/teams", "/json"])
async def test_codecs_that_are_not_json_charsets_are_415(
    client: httpx.AsyncClient, charset: str, path: str
) -> None:
    """Python knows these names, but they are transforms (or not JSON's charsets): a 415
    problem, where a codec lookup used to end in a 500."""
    r = await client.post(
        path,
        content=b'{"name":"Blue","score":1}',
        headers={"content-type": f"application/json; charset={charset}"},
    )
    assert r.status_code == 415, r.text
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("charset", "codec"),
    [
        ("utf-16le", "utf-16-le"),
        ("UTF-16BE", "utf-16-be"),
        ("utf-32", "utf-32"),
        ("US-ASCII", "ascii"),
        ("ISO_8859-1:1987", "latin-1"),
        ("latin1", "latin-1"),
        ("cp819", "latin-1"),
    ],
)
async def test_the_json_charsets_are_read_by_their_aliases(
    client: httpx.AsyncClient, charset: str, codec: str
) -> None:
    name = "Blue" if codec == "ascii" else "Bl\u00e9"
    body = f'{{"name": "{name}", "score": 2}}'.encode(codec)
    r = await client.post(
        "/teams", content=body, headers={"content-type": f"application/json; charset={charset}"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["stored"]["name"] == name


async def test_bytes_that_are_not_the_declared_charset_are_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/json", content=b'["\xe9"]', headers={"content-type": "application/json; charset=ascii"}
    )
    assert r.status_code == 400
    assert r.json()["detail"] == "Body is not valid ascii: byte 2"


@pytest.mark.parametrize("path", ["/teams", "/json"])
async def test_json_nested_past_64_levels_is_400_and_64_levels_pass(
    client: httpx.AsyncClient, path: str
) -> None:
    for opening in (b"[", b'{"a":'):
        closing = b"]" if opening == b"[" else b"}"
        too_deep = opening * 65 + b"1" + closing * 65
        r = await client.post(path, content=too_deep, headers={"content-type": "application/json"})
        assert r.status_code == 400, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["detail"] == "Body is nested deeper than 64 levels"
    deepest = b"[" * 64 + b"]" * 64
    r = await client.post("/json", content=deepest, headers={"content-type": "application/json"})
    assert r.status_code == 200


async def test_brackets_in_strings_are_not_nesting(client: httpx.AsyncClient) -> None:
    text = '[[[{{"\\"[' * 40  # 240 brackets (the body limit here is 1 KiB)
    r = await client.post("/json", json={"s": text, "t": [[["]"]]]})
    assert r.status_code == 200
    assert r.json() == {"got": {"s": text, "t": [[["]"]]]}}


async def test_form_with_a_codec_that_is_not_a_charset_is_415(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/form",
        content=b"a=b",
        headers={"content-type": "application/x-www-form-urlencoded; charset=rot13"},
    )
    assert r.status_code == 415
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 65 + b'"' + b'\\"' * 50_000,  # a string that never ends, all escaped quotes
        b"[" * 65 + b'"' + b'\\"' * 50_000 + b"\\",  # ... and a lone backslash at the end
        b'["' * 50_000,
    ],
    ids=["escaped-quotes", "trailing-backslash", "open-strings"],
)
def test_the_depth_scan_stays_linear_on_strings_that_never_end(body: bytes) -> None:
    """A string pattern that backtracks rescans from every quote: about 35 s for 100 KB."""
    started = time.perf_counter()
    json_too_deep(body)
    assert time.perf_counter() - started < 0.5
