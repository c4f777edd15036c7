"""A blocking HTTP/1.1 client over a plain socket that sends exactly the bytes it is given.

httpx and requests normalise what fuzzing wants to send as is (dot segments, percent
escapes, odd header bytes), so the hypothesis fuzzers write the request line and headers
themselves. Every call has a deadline: a server that does not answer in time is a hang.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from tests.support.campaigns.fuzz_http.verdict import Answer

DEFAULT_TIMEOUT = 10.0


class Hang(Exception):
    """The server did not answer completely within the deadline."""


class NoAnswer(Exception):
    """The connection ended (closed or reset) before a complete answer head arrived."""


def address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def encode_request(
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]],
    body: bytes = b"",
    *,
    host: str = "127.0.0.1",
) -> bytes:
    """Request bytes: header values latin-1 (as HTTP is), Content-Length when there is a body."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body


def parse_answer(raw: bytes) -> Answer:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise NoAnswer(f"connection ended after {len(raw)} bytes of answer")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    length = headers.get("content-length")
    if length is not None:
        body = body[: int(length)]
    return Answer(status, headers, body)


def exchange(base_url: str, request: bytes, *, timeout: float = DEFAULT_TIMEOUT) -> Answer:
    """Send `request`, read until the server closes (we asked for Connection: close)."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    try:
        with socket.create_connection(address(base_url), timeout=timeout) as sock:
            try:
                sock.sendall(request)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer (413, 400) and close before reading it all
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Hang(f"no complete answer within {timeout} s")
                sock.settimeout(remaining)
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
    except TimeoutError as exc:
        raise Hang(f"no complete answer within {timeout} s") from exc
    return parse_answer(b"".join(chunks))
