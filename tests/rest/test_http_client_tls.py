"""The server's outgoing HTTP client (gateway/rest/http_client.py) with TLS (verified, or
refused) and with streamed request bodies (a `BodySource`: the REST proxy's large uploads)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.rest.http_servers import NO_CONTENT, Scripted, fixed, self_signed, serving
from tests.rest.http_servers import origin as client


async def test_https_certificates_are_verified(tmp_path: Path) -> None:
    """TLS as httpx does it: an unknown certificate is refused (ConnectError, nothing sent);
    one the client trusts carries the request over keep-alive."""
    server_context, cert_path = self_signed(tmp_path)
    handler = Scripted(fixed(NO_CONTENT))
    async with serving(handler, tls=server_context) as port:
        untrusting = client(f"https://127.0.0.1:{port}/api")
        with pytest.raises(httpx.ConnectError, match="certificate"):
            await untrusting.request("POST", "/x", {}, b"{}")
        await untrusting.aclose()
        assert handler.requests == []
        trusting = client(
            f"https://127.0.0.1:{port}/api",
            ssl_context=ssl.create_default_context(cafile=str(cert_path)),
        )
        for _ in range(2):
            answer = await trusting.request("POST", "/x", {}, b"{}")
            assert answer.status == 204
        assert handler.connections == 1  # one for both (a refused handshake never gets here)
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
    socket drains, with its Content-Length (not chunked), every byte in order."""
    source = Chunks(512, 64 * 1024)
    received = bytearray()
    heads: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        heads.append(head)
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        while len(received) < length:
            received.extend(await reader.read(256 * 1024))
            await asyncio.sleep(0.001)
        writer.write(NO_CONTENT)
        await writer.drain()
        writer.close()

    async with serving(handler) as port:
        pool = client(f"http://127.0.0.1:{port}")
        answer = await pool.request("POST", "/up", {}, source, answer_within=30)
        await pool.aclose()
    assert answer.status == 204
    assert bytes(received) == b"".join(source.parts)
    assert source.reads == 1
    assert b"transfer-encoding" not in heads[0].lower()


async def test_an_answer_before_the_whole_body_stops_the_stream() -> None:
    """The server answers (413) after the head, reading nothing more: the client stops
    sending, returns that answer, and does not reuse the connection."""
    source = Chunks(2048, 64 * 1024)  # 128 MiB: never sent whole
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(5)
        writer.close()

    async with serving(handler) as port:
        pool = client(f"http://127.0.0.1:{port}")
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(2):
            answer = await pool.request("POST", "/up", {}, source, answer_within=10)
            assert answer.status == 413
        assert loop.time() - started < 4  # not held until the server's close
        assert connections == 2  # half a body on the first: closed, not kept
        await pool.aclose()
