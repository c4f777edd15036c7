"""Hostile clients, run in a process of their own:
`python -m tests.support.campaigns.abuse.attacks KIND JSON`.

Each attack opens raw loopback sockets (from a source address of its own, so the server sees
it as a separate client), does its harm, and prints one JSON summary line on stdout. Every byte
the server sends back is searched for the strings in the environment variable ABUSE_SECRETS
(newline-separated); the count of hits is part of every summary.

Kinds:
- slowloris_headers: connections that send header lines one at a time and never finish.
- slow_body: full headers with a Content-Length, then the body one byte at a time.
- huge_headers: one request whose header block keeps growing (up to `limit` bytes).
- connections: `count` connections at once, each with one request, then held idle.
- sio_unauth: Engine.IO handshakes then a Socket.IO CONNECT to /overlay without credentials.
- spoof: protected requests with a new random X-Forwarded-For each time.
- bad_bodies: protected JSON routes given charsets that are not text encodings (rot13, zlib,
  base64, hex, punycode...) and JSON nested past 64 levels (up to 50,000): each must get its
  400/415 as problem+json, never a 500.
- huge_answers: not a client but the main app (FORWARD_URL on `listen_port`): every forward is
  answered with a body far over 1 MiB (tests/support/harness/huge_answers.py); the campaign sends
  the
  interactions meanwhile (campaign.interactions_told).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from tests.support.harness.huge_answers import HugeAnswers

SECRETS = [s for s in os.environ.get("ABUSE_SECRETS", "").split("\n") if s]


class Target:
    def __init__(self, host: str, port: int, source: str) -> None:
        self.host = host
        self.port = port
        self.source = source
        self.secret_hits = 0

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(
            self.host, self.port, local_addr=(self.source, 0), limit=1 << 20
        )

    def look(self, data: bytes) -> bytes:
        text = data.decode("latin-1")
        self.secret_hits += sum(1 for secret in SECRETS if secret in text)
        return data


async def read_response(target: Target, reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response with a Content-Length: (status, body)."""
    status, _headers, body = await read_answer(target, reader)
    return status, body


async def read_answer(
    target: Target, reader: asyncio.StreamReader
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response: (status, headers with lower-case names, body)."""
    head = target.look(await reader.readuntil(b"\r\n\r\n"))
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    if "chunked" not in headers.get("transfer-encoding", "").lower():
        return status, headers, target.look(await reader.readexactly(length)) if length else b""
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, headers, body
        body += target.look(chunk[:-2])


async def _until_closed(reader: asyncio.StreamReader, target: Target) -> None:
    while True:
        data = await reader.read(65536)
        if not data:
            return
        target.look(data)


async def _trickle(
    target: Target,
    first: bytes,
    piece: bytes,
    *,
    interval: float,
    hold: float,
    max_bytes: int = 1 << 30,
) -> float | None:
    """Send `first`, then `piece` every `interval` s for `hold` s: when the server closed the
    connection (seconds after opening), or None if it was still open at the end."""
    started = time.monotonic()
    try:
        reader, writer = await target.open()
    except OSError:
        return 0.0
    closed = asyncio.ensure_future(_until_closed(reader, target))
    sent = 0
    try:
        writer.write(first)
        while time.monotonic() - started < hold and sent < max_bytes:
            await asyncio.wait([closed], timeout=interval)
            if closed.done():
                return time.monotonic() - started
            writer.write(piece)
            sent += len(piece)
            await writer.drain()
        return None
    except (OSError, asyncio.IncompleteReadError):
        return time.monotonic() - started
    finally:
        closed.cancel()
        writer.close()


def _closing_summary(results: list[float | None], hold: float) -> dict[str, Any]:
    closed = sorted(r for r in results if r is not None)
    return {
        "connections": len(results),
        "closed_by_server": len(closed),
        "still_open_at_end": len(results) - len(closed),
        "max_close_s": round(closed[-1], 2) if closed else None,
        "hold_s": hold,
    }


async def _slot(
    target: Target, first: bytes, piece: bytes, interval: float, hold: float, reconnect: bool
) -> list[float | None]:
    """One attacker's place: trickle, and with `reconnect` open a new one each time the server
    closes, until `hold` s have passed."""
    results: list[float | None] = []
    started = time.monotonic()
    while (left := hold - (time.monotonic() - started)) > 0:
        result = await _trickle(target, first, piece, interval=interval, hold=left)
        results.append(result)
        if result is None or not reconnect:
            break
        if result < 0.05:  # refused at once: do not spin
            await asyncio.sleep(0.1)
    return results


async def _slots(
    target: Target, count: int, first: bytes, piece: bytes, *options: Any
) -> dict[str, Any]:
    slots = await asyncio.gather(*(_slot(target, first, piece, *options) for _ in range(count)))
    return _closing_summary([r for slot in slots for r in slot], options[1])


async def slowloris_headers(
    target: Target, count: int, hold: float, interval: float, reconnect: bool = False
) -> Any:
    first = b"GET / HTTP/1.1\r\nHost: victim\r\n"
    return await _slots(target, count, first, b"X-Slow: a\r\n", interval, hold, reconnect)


async def slow_body(
    target: Target, count: int, hold: float, interval: float, path: str, reconnect: bool = False
) -> Any:
    first = (
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: victim\r\n"
        b"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 90000\r\n\r\n"
    )
    return await _slots(target, count, first, b"1", interval, hold, reconnect)


async def huge_headers(target: Target, limit: int, hold: float) -> Any:
    """One header value that keeps growing, 64 KiB at a time, up to `limit` bytes; stops
    early when the server answers or closes."""
    started = time.monotonic()
    reader, writer = await target.open()
    answer = asyncio.ensure_future(read_response(target, reader))
    chunk = b"a" * 65536
    sent = 0
    status: int | None = None
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: victim\r\nX-Huge: ")
        try:
            while sent < limit and not answer.done() and time.monotonic() - started < hold:
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
            if not answer.done():
                writer.write(b"\r\n\r\n")
        except OSError:  # the server closed: its answer may be waiting in our buffer
            pass
        status, _ = await asyncio.wait_for(answer, 10)
    except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
        pass
    finally:
        answer.cancel()
        writer.close()
    return {"header_bytes_sent": sent, "status": status, "limit": limit}


async def connections(target: Target, count: int, hold: float) -> Any:
    """`count` connections opened together, one keep-alive GET on each, then held idle."""
    statuses: Counter[str] = Counter()
    opened = asyncio.Event()
    ready = 0
    writers: list[asyncio.StreamWriter] = []

    async def one() -> None:
        nonlocal ready
        try:
            reader, writer = await target.open()
            writers.append(writer)
            writer.write(b"GET /livez HTTP/1.1\r\nHost: victim\r\n\r\n")
            status, _ = await asyncio.wait_for(read_response(target, reader), 30)
            statuses[str(status)] += 1
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            statuses[type(exc).__name__] += 1
        ready += 1
        if ready == count:
            opened.set()

    started = time.monotonic()
    tasks = [asyncio.ensure_future(one()) for _ in range(count)]
    await opened.wait()
    answered_in = time.monotonic() - started
    await asyncio.sleep(max(0.0, hold - answered_in))
    # Still open after the hold: the server kept them (idle keep-alive) or closed them.
    still_open = sum(1 for w in writers if not w.transport.is_closing())
    for writer in writers:
        writer.close()
    await asyncio.gather(*tasks)
    return {
        "connections": count,
        "statuses": dict(statuses),
        "all_answered_s": round(answered_in, 2),
        "writers_open_after_hold": still_open,
    }


async def sio_unauth(target: Target, count: int, concurrency: int) -> Any:
    """Engine.IO polling handshake, CONNECT to /overlay with no credentials and no Origin (a
    foreign Origin is refused earlier, by Engine.IO's CORS check), read the answer, then walk
    away without closing the Engine.IO session."""
    outcomes: Counter[str] = Counter()
    queue = iter(range(count))

    async def request(reader: Any, writer: Any, raw: bytes) -> tuple[int, bytes]:
        writer.write(raw)
        return await asyncio.wait_for(read_response(target, reader), 30)

    async def attempt() -> None:
        reader, writer = await target.open()
        try:
            base = "/socket.io/?EIO=4&transport=polling"
            status, body = await request(
                reader, writer, f"GET {base} HTTP/1.1\r\nHost: victim\r\n\r\n".encode()
            )
            if status != 200 or not body.startswith(b"0"):
                outcomes[f"handshake {status}"] += 1
                return
            sid = json.loads(body[1:])["sid"]
            packet = b'40/overlay,{"overlay":"default"}'
            status, _ = await request(
                reader,
                writer,
                f"POST {base}&sid={sid} HTTP/1.1\r\nHost: victim\r\n"
                f"Content-Type: text/plain;charset=UTF-8\r\n"
                f"Content-Length: {len(packet)}\r\n\r\n".encode()
                + packet,
            )
            status, body = await request(
                reader, writer, f"GET {base}&sid={sid} HTTP/1.1\r\nHost: victim\r\n\r\n".encode()
            )
            if body.startswith(b"44/overlay,"):
                outcomes["refused"] += 1
            elif body.startswith(b"40/overlay,"):
                outcomes["ADMITTED"] += 1
            else:
                outcomes[f"other {status} {body[:20]!r}"] += 1
        finally:
            writer.close()

    async def worker() -> None:
        for _ in queue:
            try:
                await attempt()
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                outcomes[type(exc).__name__] += 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    return {
        "attempts": count,
        "outcomes": dict(outcomes),
        "elapsed_s": round(elapsed, 2),
        "per_s": round(count / elapsed, 1),
    }


async def spoof(
    target: Target, count: int, concurrency: int, path: str, chain_suffix: str | None
) -> Any:
    """Protected GETs, each with a fresh random X-Forwarded-For. With `chain_suffix`, the
    random address is followed by it, as a trusted proxy that appends the peer would send."""
    statuses: Counter[int] = Counter()
    queue = iter(range(count))
    rng = random.Random(7)

    async def worker() -> None:
        reader, writer = await target.open()
        try:
            for _ in queue:
                fake = ".".join(str(rng.randrange(1, 255)) for _ in range(4))
                xff = f"{fake}, {chain_suffix}" if chain_suffix else fake
                writer.write(
                    f"GET {path} HTTP/1.1\r\nHost: victim\r\nX-Forwarded-For: {xff}\r\n"
                    f"X-Real-IP: {fake}\r\nForwarded: for={fake}\r\n\r\n".encode()
                )
                status, _ = await asyncio.wait_for(read_response(target, reader), 30)
                statuses[status] += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"requests": count, "statuses": {str(k): v for k, v in sorted(statuses.items())}}


#: Python codecs that are not JSON charsets: transforms (rot13...), and text encodings JSON
#: bodies may not use. Each used to end in a 500 with a traceback (a LookupError or
#: UnicodeError from the codec).
NOT_JSON_CHARSETS = (
    "rot13",
    "zlib",
    "base64",
    "hex",
    "punycode",
    "bz2_codec",
    "uu",
    "quopri",
    "utf-7",
    "unicode_escape",
    "idna",
)
_TEAM = {"score": 0, "primaryColor": "#111", "secondaryColor": "#fff", "logoUrl": "x.png"}


def _overlay(extra: Any = None) -> bytes:
    state: dict[str, Any] = {
        "blue": {**_TEAM, "name": "Blue"},
        "red": {**_TEAM, "name": "Red"},
        "maxScore": 2,
    }
    if extra is not None:
        state["extra"] = extra
    return json.dumps(state).encode()


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def bad_body_cases() -> list[tuple[str, str, str, bytes, int]]:
    """(name, path, content type, body, the status it must get)."""
    presence = b'{"status": "online", "type": 0, "name": "the draft"}'
    cases: list[tuple[str, str, str, bytes, int]] = []
    for charset in NOT_JSON_CHARSETS:
        content_type = f"application/json; charset={charset}"
        cases.append((f"overlay charset={charset}", "/overlay", content_type, _overlay(), 415))
        cases.append(
            (f"presence charset={charset}", "/discord/presence", content_type, presence, 415)
        )
    for levels in (65, 300, 1025, 50_000):  # 1,025: past the parser's own limit
        deep = b"[" * levels + b"]" * levels
        cases.append((f"depth {levels}", "/overlay", "application/json", deep, 400))
    utf16 = ("[" * 65 + "]" * 65).encode("utf-16")
    cases.append(("depth 65 in utf-16", "/overlay", "application/json; charset=utf-16", utf16, 400))
    key = _overlay(_nested(300))
    cases.append(("overlay key nested 300", "/overlay", "application/json", key, 400))
    ok = _overlay(_nested(63))  # 64 levels with the top object: the most a body may have
    cases.append(("overlay key nested 63", "/overlay", "application/json", ok, 200))
    return cases


async def bad_bodies(target: Target, token: str, rounds: int = 1) -> Any:
    """Every bad body of `bad_body_cases` `rounds` times, each on a new connection."""
    statuses: Counter[str] = Counter()
    unexpected: list[str] = []
    not_problem = 0
    for _ in range(rounds):
        for name, path, content_type, body, expected in bad_body_cases():
            reader, writer = await target.open()
            try:
                writer.write(
                    f"POST {path} HTTP/1.1\r\nHost: victim\r\nAuthorization: Bearer {token}\r\n"
                    f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                status, headers, _ = await asyncio.wait_for(read_answer(target, reader), 30)
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                statuses[type(exc).__name__] += 1
                unexpected.append(f"{name}: {type(exc).__name__}")
                continue
            finally:
                writer.close()
            statuses[str(status)] += 1
            if status != expected:
                unexpected.append(f"{name}: {status}, not {expected}")
            if status >= 400 and headers.get("content-type") != "application/problem+json":
                not_problem += 1
    return {
        "requests": sum(statuses.values()),
        "statuses": dict(sorted(statuses.items())),
        "status_500": statuses.get("500", 0),
        "unexpected": unexpected,
        "errors_not_problem_json": not_problem,
    }


async def huge_answers(target: Target, listen_port: int, hold: float) -> Any:
    """Be the main app on `listen_port` for `hold` s, answering every forward with a body far
    over 1 MiB (in turn: a 1 GiB Content-Length, endless chunked, endless until close, 1 MiB
    + 1). The forwards themselves are searched for secrets."""
    main_app = HugeAnswers(port=listen_port, hold=hold, on_request=target.look)
    async with main_app:
        await asyncio.sleep(hold)
    return main_app.summary()


ATTACKS: dict[str, Callable[..., Awaitable[Any]]] = {
    "slowloris_headers": slowloris_headers,
    "slow_body": slow_body,
    "huge_headers": huge_headers,
    "connections": connections,
    "sio_unauth": sio_unauth,
    "spoof": spoof,
    "bad_bodies": bad_bodies,
    "huge_answers": huge_answers,
}


async def run(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    target = Target(options.pop("host"), options.pop("port"), options.pop("source"))
    summary = await ATTACKS[kind](target, **options)
    return {"kind": kind, **summary, "secret_hits": target.secret_hits}


def main() -> None:
    kind, options = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(asyncio.run(run(kind, options))), flush=True)


if __name__ == "__main__":
    main()
