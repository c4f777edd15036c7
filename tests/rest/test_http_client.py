"""The server's outgoing HTTP client (gateway/rest/http_client.py: httpx on aiohttp's pool)
against scripted loopback servers: keep-alive, the connection limit, the answer-size limit,
timeouts, and the errors named as httpx names them. TLS and streamed bodies:
test_http_client_tls.py."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from gateway.rest.http_client import AnswerTooLarge, ClientOptions, OriginClient
from gateway.user_agent import USER_AGENT
from tests.rest.http_servers import GZ, NO_CONTENT, fixed, head_lines, scripted, serving
from tests.rest.http_servers import origin as client
from tests.support.harness.huge_answers import JUST_OVER, MIB, MODES, HugeAnswers
from tests.support.harness.server import free_port
from tests.support.waiting import eventually


async def test_requests_reuse_one_keep_alive_connection_and_send_the_request_as_given() -> None:
    async with scripted(fixed(NO_CONTENT)) as (server, base):
        pool = client(base)
        for i in range(3):
            answer = await pool.request(
                "POST", f"/interactions/{i}/tok/callback", {"X-A": "1"}, b'{"type":5}'
            )
            assert answer.status == 204 and answer.content == b""
            assert answer.headers["x-ratelimit-bucket"] == "abc"
        assert server.connections == 1
        port = base.split(":")[2].split("/")[0]
        lines = head_lines(server.requests[2])
        assert lines[0] == b"POST /api/v10/interactions/2/tok/callback HTTP/1.1"
        sent = {k.lower(): v for k, v in (line.split(b": ", 1) for line in lines[1:])}
        assert sent[b"host"] == f"127.0.0.1:{port}".encode()
        assert sent[b"x-a"] == b"1" and sent[b"content-length"] == b"10"
        assert sent[b"user-agent"] == USER_AGENT.encode()  # gateway/user_agent.py
        assert sent[b"accept-encoding"] == b"identity"  # answers are handed on as they come
        assert server.requests[2].endswith(b'\r\n\r\n{"type":5}')
        await pool.aclose()


async def test_headers_are_merged_as_httpx_merges_them_and_the_request_line_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """OriginClient builds the request itself (no AsyncClient.build_request): a header the
    caller names replaces the client's own of that name, whatever its case; Content-Length as
    httpx sets it; httpx's request line still logged."""
    caplog.set_level("INFO", logger="httpx")
    async with scripted(fixed(NO_CONTENT)) as (server, base):
        pool = client(base)
        await pool.request("GET", "/a", {"user-agent": "Other/1.0"})
        await pool.request("POST", "/b", {"ACCEPT-ENCODING": "gzip"})
        await pool.request("PUT", "/c", {}, b"xyz")
        await pool.aclose()
    sent: list[list[tuple[bytes, bytes]]] = []
    for request in server.requests:
        pairs = [line.split(b": ", 1) for line in head_lines(request)[1:]]
        sent.append([(name.lower(), value) for name, value in pairs])
    get, post, put = (dict(pairs) for pairs in sent)
    assert [name for name, _ in sent[0]].count(b"user-agent") == 1
    assert get[b"user-agent"] == b"Other/1.0" and b"content-length" not in get
    assert [name for name, _ in sent[1]].count(b"accept-encoding") == 1
    assert post[b"accept-encoding"] == b"gzip" and post[b"content-length"] == b"0"
    assert post[b"user-agent"] == USER_AGENT.encode()
    assert put[b"content-length"] == b"3" and put[b"accept-encoding"] == b"identity"
    logged = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any(line.startswith("HTTP Request: PUT ") and "/api/v10/c" in line for line in logged)


async def test_no_cookie_of_an_answer_is_sent_back() -> None:
    raw = b"HTTP/1.1 204 No Content\r\nSet-Cookie: __dcfduid=abc; Path=/\r\n\r\n"
    async with scripted(fixed(raw)) as (server, base):
        pool = client(base)
        for _ in range(2):
            assert (await pool.request("GET", "/x", {})).status == 204
        assert not any(b"cookie" in r.lower() for r in server.requests)
        await pool.aclose()


@pytest.mark.parametrize(
    ("raw", "body"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", b"hello"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3;ext=1\r\nhel\r\n2\r\nlo\r\n0\r\nX-Trailer: 1\r\n\r\n",
            b"hello",
        ),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", b"ok"),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n" + GZ, GZ),
    ],
    ids=["content-length", "chunked", "informational-skipped", "as-received"],
)
async def test_bodies_are_read_whole_and_the_connection_kept(raw: bytes, body: bytes) -> None:
    async def answer(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        for i in range(0, len(raw), 7):  # in small pieces: the parser must join them
            writer.write(raw[i : i + 7])
            await writer.drain()
            await asyncio.sleep(0)
        return True

    async with scripted(answer) as (server, base):
        pool = client(base)
        for _ in range(2):
            got = await pool.request("GET", "/x", {})
            assert (got.status, got.content) == (200, body)
        assert server.connections == 1
        await pool.aclose()


async def test_a_body_without_length_ends_with_the_connection_which_is_not_reused() -> None:
    async with scripted(fixed(b"HTTP/1.1 200 OK\r\n\r\nuntil close", keep=False)) as (srv, base):
        pool = client(base)
        for _ in range(2):
            got = await pool.request("GET", "/x", {})
            assert got.content == b"until close"
        assert srv.connections == 2
        await pool.aclose()


async def test_connection_close_answer_is_not_reused() -> None:
    raw = b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
    async with scripted(fixed(raw, keep=False)) as (server, base):
        pool = client(base)
        await pool.request("POST", "/a", {})
        await pool.request("POST", "/b", {})
        assert server.connections == 2
        await pool.aclose()


async def test_an_idle_connection_the_server_closed_is_replaced_without_an_error() -> None:
    async with scripted(fixed(NO_CONTENT)) as (server, base):
        pool = client(base)
        await pool.request("GET", "/a", {})
        server.writers[0].close()  # the server ends the idle keep-alive connection
        await server.writers[0].wait_closed()
        got = await pool.request("GET", "/b", {})
        assert got.status == 204
        assert server.connections == 2 and len(server.requests) == 2
        await pool.aclose()


@pytest.mark.parametrize(("method", "retried"), [("GET", True), ("POST", False)])
async def test_a_reused_connection_closed_before_any_answer(method: str, retried: bool) -> None:
    """The keep-alive race: aiohttp sends an idempotent request again on a new connection
    (RFC 9112 9.3.1); any other is a RemoteProtocolError, and the caller's retry rules decide
    (DiscordRest, the forwards and the deliveries all retry it)."""
    calls = 0

    async def answer(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        nonlocal calls
        calls += 1
        if calls == 2:  # the server closes instead of answering
            return False
        writer.write(NO_CONTENT)
        await writer.drain()
        return True

    async with scripted(answer) as (server, base):
        pool = client(base)
        await pool.request(method, "/a", {})
        if retried:
            assert (await pool.request(method, "/b", {})).status == 204
            assert calls == 3 and server.connections == 2
        else:
            with pytest.raises(httpx.RemoteProtocolError, match="disconnected"):
                await pool.request(method, "/b", {})
            assert calls == 2
            assert (await pool.request(method, "/c", {})).status == 204  # a new connection
            assert server.connections == 2
        await pool.aclose()


async def test_a_new_connection_closed_without_answer_raises_remote_protocol_error() -> None:
    async with scripted(fixed(b"", keep=False)) as (_server, base):
        pool = client(base)
        with pytest.raises(httpx.RemoteProtocolError):
            await pool.request("POST", "/a", {})
        await pool.aclose()


@pytest.mark.parametrize(
    "raw",
    [b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"],
    ids=["not-http", "bad-header"],
)
async def test_garbage_answers_raise_remote_protocol_error_and_drop_the_connection(
    raw: bytes,
) -> None:
    async with scripted(fixed(raw)) as (server, base):
        pool = client(base)
        for _ in range(2):
            with pytest.raises(httpx.RemoteProtocolError):
                await pool.request("GET", "/x", {})
        assert server.connections == 2  # never reused after garbage
        await eventually(lambda: server.closed_by_client == 2, what="the client hung up")
        await pool.aclose()


async def test_no_answer_in_time_raises_read_timeout_and_drops_the_connection() -> None:
    async def silent(_request: bytes, _writer: asyncio.StreamWriter) -> bool:
        return True  # reads the next request (or the client's hang-up), never answers

    async with scripted(silent) as (server, base):
        pool = client(base)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(httpx.ReadTimeout):
            await pool.request("GET", "/x", {}, answer_within=0.2)
        assert loop.time() - started < 2
        await eventually(lambda: server.closed_by_client == 1, what="the client hung up")
        await pool.aclose()


async def test_the_whole_answer_counts_not_each_read() -> None:
    """A server that drips its answer, a byte at a time, keeps no request past its time."""

    async def drip(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(1000):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.01)
        return True

    async with scripted(drip) as (_server, base):
        pool = client(base, timeout=0.3)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(httpx.ReadTimeout):
            await pool.request("GET", "/x", {})
        assert loop.time() - started < 2
        await pool.aclose()


async def test_nobody_listening_raises_connect_error() -> None:
    pool = client(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(httpx.ConnectError):
        await pool.request("GET", "/x", {})
    await pool.aclose()


async def test_a_handshake_that_never_ends_is_a_connect_timeout() -> None:
    """The connect timeout covers the TLS handshake: a server that accepts and says nothing."""
    hung_up = asyncio.Event()

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # the ClientHello, then nothing until the client gives up
        hung_up.set()
        writer.close()

    async with serving(mute) as port:
        pool = client(f"https://127.0.0.1:{port}", connect_timeout=0.3)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(httpx.ConnectTimeout, match=rf"127\.0\.0\.1:{port}"):
            await pool.request("GET", "/x", {})
        assert loop.time() - started < 2
        await asyncio.wait_for(hung_up.wait(), 5)
        await pool.aclose()


async def test_at_most_max_connections_at_once_and_all_requests_answered() -> None:
    async def slow(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.01)
        writer.write(NO_CONTENT)
        await writer.drain()
        return True

    async with scripted(slow) as (server, base):
        pool = OriginClient.open(base, ClientOptions(max_connections=3, proxy=None))
        answers = await asyncio.gather(*(pool.request("POST", f"/{i}", {}) for i in range(20)))
        assert [a.status for a in answers] == [204] * 20
        assert server.connections == 3 and server.most_in_flight == 3
        await pool.aclose()


async def test_warm_opens_connections_ahead_and_requests_use_them() -> None:
    async with scripted(fixed(NO_CONTENT)) as (server, base):
        pool = client(base)
        await pool.warm(2, "/gateway")
        assert server.connections == 2
        assert [head_lines(r)[0] for r in server.requests] == [b"GET /api/v10/gateway HTTP/1.1"] * 2
        await asyncio.gather(*(pool.request("POST", "/a", {}) for _ in range(2)))
        assert server.connections == 2
        await pool.aclose()
        await eventually(lambda: server.closed_by_client == 2, what="aclose closed them")
        with pytest.raises(httpx.ConnectError, match="closed"):
            await pool.request("POST", "/b", {})


@pytest.mark.parametrize("mode", MODES)
async def test_an_answer_over_the_limit_fails_without_being_read_whole(mode: str) -> None:
    huge = HugeAnswers(modes=(mode,), hold=10)
    async with huge as base:
        pool = client(base, max_answer_bytes=MIB)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(AnswerTooLarge):
            await pool.request("POST", "/x", {}, b"{}", answer_within=15)
        assert loop.time() - started < 3  # not the 10 s the server would go on streaming
        await eventually(lambda: huge.answered, what="the server saw the hang-up")
        (answer,) = huge.answered
        assert answer.cut_by_client
        if mode == "declared":  # refused from the head: hardly any of the body was read
            assert answer.seconds < 1
        # what the server got to write is the limit plus the sockets' buffers, not 10 s of
        # loopback streaming (gigabytes)
        assert answer.written < 32 * MIB
        await pool.aclose()


async def test_an_answer_at_the_limit_is_read_and_the_client_goes_on_after_one_over_it() -> None:
    at_limit = b"y" * MIB
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(at_limit), at_limit)
    async with scripted(fixed(raw)) as (_server, base):
        pool = client(base, max_answer_bytes=MIB)
        assert (await pool.request("GET", "/x", {})).content == at_limit
        await pool.aclose()
    huge = HugeAnswers(modes=("declared", "chunked", "just_over"), hold=5)
    async with huge as base:
        pool = client(base, max_answer_bytes=JUST_OVER)
        with pytest.raises(AnswerTooLarge):
            await pool.request("GET", "/x", {})
        with pytest.raises(AnswerTooLarge):  # a new connection, the same verdict
            await pool.request("GET", "/x", {})
        assert len((await pool.request("GET", "/x", {})).content) == JUST_OVER
        assert huge.requests == 3
        await pool.aclose()


async def test_without_a_limit_a_large_answer_is_read_whole() -> None:
    async with HugeAnswers(modes=("just_over",), hold=5) as base:
        pool = client(base)  # the REST and proxy clients: Discord's answers, no limit here
        assert len((await pool.request("GET", "/x", {})).content) == JUST_OVER
        await pool.aclose()


def test_only_http_urls() -> None:
    with pytest.raises(ValueError, match="not an http"):
        client("ws://127.0.0.1:1")
