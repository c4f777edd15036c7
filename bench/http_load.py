"""A fixed-concurrency keep-alive HTTP/1.1 load generator on raw asyncio sockets.

Used by bench/http_bench.py when `wrk` is not installed; runs in its own process:
    python bench/http_load.py HOST PORT PATH SECONDS CONNECTIONS BODY_FILE [METHOD [HEADER...]]
(METHOD defaults to POST, a GET sends no body; each HEADER is "Name: value")
prints one JSON line {"requests": N, "seconds": S, "rps": R, "bad": B}."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path


async def _worker(host: str, port: int, request: bytes, deadline: float, out: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    done = bad = 0
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            lower = head.lower()
            at = lower.find(b"content-length:")
            length = int(lower[at + 15 : lower.find(b"\r\n", at)]) if at >= 0 else 0
            if length:
                await reader.readexactly(length)
            done += 1
            if not 200 <= status < 300:
                bad += 1
    finally:
        writer.close()
    out[0] += done
    out[1] += bad


async def run(
    host: str,
    port: int,
    path: str,
    seconds: float,
    conns: int,
    body: bytes,
    method: str = "POST",
    headers: tuple[str, ...] = (),
) -> dict[str, float]:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    for line in headers:
        head += line + "\r\n"
    if method == "GET":
        body = b""
    else:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    request = (head + "\r\n").encode() + body
    out = [0, 0]
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*(_worker(host, port, request, deadline, out) for _ in range(conns)))
    elapsed = time.perf_counter() - start
    return {"requests": out[0], "seconds": elapsed, "rps": out[0] / elapsed, "bad": out[1]}


def main() -> None:
    host, port, path, seconds, conns, body_file = sys.argv[1:7]
    method = sys.argv[7] if len(sys.argv) > 7 else "POST"
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    result = asyncio.run(
        run(
            host,
            int(port),
            path,
            float(seconds),
            int(conns),
            Path(body_file).read_bytes(),
            method,
            tuple(sys.argv[8:]),
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
