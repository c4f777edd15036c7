"""Http1Pool (the acknowledgement path's keep-alive client) against scripted loopback servers."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.rest.http1 import AnswerTooLarge, Http1Pool
from tests.support.harness.huge_answers import JUST_OVER, MIB, MODES, HugeAnswers
from tests.support.harness.server import free_port
from tests.support.waiting import eventually

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]  # -> keep the connection


class Scripted:
    """A TCP server that reads one request at a time and answers with `answer`."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                if not await self.answer(request, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serving(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """A loopback TCP server running `handler` per connection (TLS with `tls`); yields its
    port."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls)
    async with server:
        yield server.sockets[0].getsockname()[1]


@asynccontextmanager
async def scripted(answer: Answer) -> AsyncIterator[tuple[Scripted, str]]:
    handler = Scripted(answer)
    async with serving(handler) as port:
        yield handler, f"http://127.0.0.1:{port}/api/v10"


def fixed(raw: bytes, keep: bool = True) -> Answer:
    async def answer(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(raw)
        await writer.drain()
        return keep

    return answer


NO_CONTENT = b"HTTP/1.1 204 No Content\r\nX-RateLimit-Bucket: abc\r\n\r\n"


async def test_requests_reuse_one_keep_alive_connection_and_send_the_request_as_given() -> None:
    async with scripted(fixed(NO_CONTENT)) as (server, base):
        pool = Http1Pool(base)
        for i in range(3):
            answer = await pool.request(
                "POST", f"/interactions/{i}/tok/callback", {"X-A": "1"}, b'{"type":5}'
            )
            assert answer.status == 204 and answer.content == b""
            assert answer.headers["x-ratelimit-bucket"] == "abc"
        assert server.connections == 1 and pool.connects == 1
        port = base.split(":")[2].split("/")[0]
        assert server.requests[2] == (
            b"POST /api/v10/interactions/2/tok/callback HTTP/1.1\r\n"
            + f"Host: 127.0.0.1:{port}\r\n".encode()
            + b'X-A: 1\r\nContent-Length: 10\r\n\r\n{"type":5}'
        )
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
    ],
    ids=["content-length", "chunked", "informational-skipped"],
)
async def test_bodies_are_read_whole_and_the_connection_kept(raw: bytes, body: bytes) -> None:
    async def answer(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        for i in range(0, len(raw), 7):  # in small pieces: the parser must join them
            writer.write(raw[i : i + 7])
            await writer.drain()
            await asyncio.sleep(0)
        return True

    async with scripted(answer) as (server, base):
        pool = Http1Pool(base)
        for _ in range(2):
            got = await pool.request("GET", "/x", {})
            assert (got.status, got.content) == (200, body)
        assert server.connections == 1
        await pool.aclose()


async def test_a_body_without_length_ends_with_the_connection_which_is_not_reused() -> None:
    async with scripted(fixed(b"HTTP/1.1 200 OK\r\n\r\nuntil close", keep=False)) as (srv, base):
        pool = Http1Pool(base)
        for _ in range(2):
            got = await pool.request("GET", "/x", {})
            assert got.content == b"until close"
        assert srv.connections == 2
        await pool.aclose()


async def test_connection_close_answer_is_not_reused() -> None:
    raw = b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
    async with scripted(fixed(raw, keep=False)) as (server, base):
        pool = Http1Pool(base)
        await pool.request("POST", "/a", {})
        await pool.request("POST", "/b", {})
        assert server.connections == 2
        await pool.aclose()


async def test_an_idle_connection_the_server_closed_is_replaced_without_an_error() -> None:
    async with scripted(fixed(NO_CONTENT)) as (server, base):
        pool = Http1Pool(base)
        await pool.request("POST", "/a", {})
        server.writers[0].close()  # the server ends the idle keep-alive connection
        await eventually(lambda: pool.open_connections == 0, what="the pool saw the close")
        got = await pool.request("POST", "/b", {})
        assert got.status == 204
        assert server.connections == 2 and len(server.requests) == 2
        await pool.aclose()


async def test_a_reused_connection_closed_before_any_answer_is_retried_once() -> None:
    calls = 0

    async def answer(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        nonlocal calls
        calls += 1
        if calls == 2:  # the keep-alive race: the server closes instead of answering
            return False
        writer.write(NO_CONTENT)
        await writer.drain()
        return True

    async with scripted(answer) as (server, base):
        pool = Http1Pool(base)
        await pool.request("POST", "/a", {})
        assert (await pool.request("POST", "/b", {})).status == 204
        assert calls == 3 and server.connections == 2
        await pool.aclose()


async def test_a_new_connection_closed_without_answer_raises_remote_protocol_error() -> None:
    async with scripted(fixed(b"", keep=False)) as (_server, base):
        pool = Http1Pool(base)
        with pytest.raises(httpx.RemoteProtocolError):
            await pool.request("POST", "/a", {})
        await pool.aclose()


@pytest.mark.parametrize(
    "raw",
    [b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"],
    ids=["not-http", "bad-header"],
)
async def test_garbage_answers_raise_remote_protocol_error(raw: bytes) -> None:
    async with scripted(fixed(raw)) as (_server, base):
        pool = Http1Pool(base)
        with pytest.raises(httpx.RemoteProtocolError):
            await pool.request("GET", "/x", {})
        assert pool.open_connections == 0
        await pool.aclose()


async def test_no_answer_in_time_raises_read_timeout_and_drops_the_connection() -> None:
    async def silent(_request: bytes, _writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(10)
        return False

    async with scripted(silent) as (_server, base):
        pool = Http1Pool(base)
        with pytest.raises(httpx.ReadTimeout):
            await pool.request("GET", "/x", {}, answer_within=0.05)
        assert pool.open_connections == 0
        await pool.aclose()


async def test_nobody_listening_raises_connect_error() -> None:
    pool = Http1Pool(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(httpx.ConnectError):
        await pool.request("GET", "/x", {})


async def test_at_most_max_connections_at_once_and_all_requests_answered() -> None:
    async def slow(_request: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.01)
        writer.write(NO_CONTENT)
        await writer.drain()
        return True

    async with scripted(slow) as (server, base):
        pool = Http1Pool(base, max_connections=3)
        answers = await asyncio.gather(*(pool.request("POST", f"/{i}", {}) for i in range(20)))
        assert [a.status for a in answers] == [204] * 20
        assert server.connections == 3
        await pool.aclose()


async def test_warm_opens_connections_ahead_and_requests_use_them() -> None:
    async with scripted(fixed(NO_CONTENT)) as (server, base):
        pool = Http1Pool(base)
        await pool.warm(2)
        assert pool.open_connections == 2
        await pool.request("POST", "/a", {})
        assert server.connections == 2 and pool.connects == 2
        await pool.aclose()
        assert pool.open_connections == 0
        with pytest.raises(httpx.ConnectError):
            await pool.request("POST", "/b", {})


@pytest.mark.parametrize("mode", MODES)
async def test_an_answer_over_the_limit_fails_without_being_read_whole(mode: str) -> None:
    huge = HugeAnswers(modes=(mode,), hold=10)
    async with huge as base:
        pool = Http1Pool(base, max_answer_bytes=MIB)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(AnswerTooLarge):
            await pool.request("POST", "/x", {}, b"{}", answer_within=15)
        assert loop.time() - started < 3  # not the 10 s the server would go on streaming
        assert pool.open_connections == 0
        await eventually(lambda: huge.answered, what="the server saw the hang-up")
        (answer,) = huge.answered
        assert answer.cut_by_client
        if mode == "declared":  # refused from the head: hardly any of the body was read
            assert answer.seconds < 1
        # what the server got to write is the limit plus the sockets' buffers, not 10 s of
        # loopback streaming (gigabytes)
        assert answer.written < 32 * MIB
        await pool.aclose()


async def test_an_answer_at_the_limit_is_read_and_the_pool_goes_on_after_one_over_it() -> None:
    at_limit = b"y" * MIB
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(at_limit), at_limit)
    async with scripted(fixed(raw)) as (_server, base):
        pool = Http1Pool(base, max_answer_bytes=MIB)
        assert (await pool.request("GET", "/x", {})).content == at_limit
        await pool.aclose()
    async with HugeAnswers(modes=("just_over", "declared", "chunked"), hold=5) as base:
        pool = Http1Pool(base, max_answer_bytes=JUST_OVER)
        assert len((await pool.request("GET", "/x", {})).content) == JUST_OVER
        with pytest.raises(AnswerTooLarge):
            await pool.request("GET", "/x", {})
        with pytest.raises(AnswerTooLarge):  # a new connection, the same verdict
            await pool.request("GET", "/x", {})
        assert pool.connects == 3
        await pool.aclose()


async def test_without_a_limit_a_large_answer_is_read_whole() -> None:
    async with HugeAnswers(modes=("just_over",), hold=5) as base:
        pool = Http1Pool(base)  # the REST and proxy pools: Discord's answers, no limit here
        assert len((await pool.request("GET", "/x", {})).content) == JUST_OVER
        await pool.aclose()


def test_only_http_urls() -> None:
    with pytest.raises(ValueError, match="not an http"):
        Http1Pool("ws://127.0.0.1:1")


def _self_signed(tmp: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a certificate for 127.0.0.1 made here, and the certificate's
    path (a client trusting it can verify the server; nobody else can)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    return server, cert_path


async def test_https_certificates_are_verified(tmp_path: Path) -> None:
    """TLS as httpx does it: an unknown certificate is refused (ConnectError, nothing sent);
    one the client trusts carries the request over keep-alive."""
    server_context, cert_path = _self_signed(tmp_path)
    handler = Scripted(fixed(NO_CONTENT))
    async with serving(handler, tls=server_context) as port:
        untrusting = Http1Pool(f"https://127.0.0.1:{port}/api")
        with pytest.raises(httpx.ConnectError):
            await untrusting.request("POST", "/x", {}, b"{}")
        await untrusting.aclose()
        assert handler.requests == []
        trusting = Http1Pool(
            f"https://127.0.0.1:{port}/api",
            ssl_context=ssl.create_default_context(cafile=str(cert_path)),
        )
        for _ in range(2):
            answer = await trusting.request("POST", "/x", {}, b"{}")
            assert answer.status == 204
        assert trusting.connects == 1
        await trusting.aclose()
        assert handler.requests[0].startswith(b"POST /api/x HTTP/1.1\r\n")


class Chunks:
    """A BodySource of `count` chunks of `size` bytes; counts how often it was read."""

    def __init__(self, count: int, size: int) -> None:
        self.parts = [bytes([i % 256]) * size for i in range(count)]
        self.size = count * size
        self.reads = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        self.reads += 1
        for part in self.parts:
            yield part


async def test_a_body_source_is_streamed_whole_to_a_slow_reader() -> None:
    """32 MiB (more than any socket buffer) to a server that reads slowly: written as the
    socket drains, with its Content-Length, every byte in order."""
    source = Chunks(512, 64 * 1024)
    received = bytearray()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.startswith(b"Cont")
        )
        while len(received) < length:
            received.extend(await reader.read(256 * 1024))
            await asyncio.sleep(0.001)
        writer.write(NO_CONTENT)
        await writer.drain()
        writer.close()

    async with serving(handler) as port:
        pool = Http1Pool(f"http://127.0.0.1:{port}")
        answer = await pool.request("POST", "/up", {}, source, answer_within=30)
        await pool.aclose()
    assert answer.status == 204
    assert bytes(received) == b"".join(source.parts)
    assert source.reads == 1


async def test_an_answer_before_the_whole_body_stops_the_stream() -> None:
    """The server answers (413) after the head, reading nothing more: the client stops
    sending, returns that answer, and does not reuse the connection."""
    source = Chunks(2048, 64 * 1024)  # 128 MiB: never sent whole

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.5)
        writer.close()

    async with serving(handler) as port:
        pool = Http1Pool(f"http://127.0.0.1:{port}")
        answer = await pool.request("POST", "/up", {}, source, answer_within=10)
        assert answer.status == 413
        assert pool.open_connections == 0  # half a body on it: closed, not kept
        await pool.aclose()
