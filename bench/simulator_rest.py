"""Throughput of the simulator's REST server (interaction callbacks) against uvicorn serving a
bare ASGI callable that answers the same 204, both driven by the same raw keep-alive client
(so httpx's own cost is not in the figure). Prints requests/s and the ratio.

    .venv/bin/python bench/simulator_rest.py
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from gateway.simulator import DiscordSimulator
from tests.support.harness.server import serve

CONNECTIONS = 20
PER_CONNECTION = 500
BODY = b'{"type":5}'


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def drive(port: int, prefix: str) -> float:
    async def one_connection(c: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in range(PER_CONNECTION):
            path = f"{prefix}/interactions/{c * PER_CONNECTION + i}/tok/callback"
            writer.write(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nUser-Agent: DiscordBot (bench, 1)\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n".encode()
                + BODY
            )
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 204"), head
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(one_connection(c) for c in range(CONNECTIONS)))
    return CONNECTIONS * PER_CONNECTION / (time.perf_counter() - start)


async def main() -> None:
    async with DiscordSimulator() as sim:
        port = int(sim.api_base.split(":")[2].split("/")[0])
        await drive(port, "/api/v10")  # warm-up
        sim_rate = await drive(port, "/api/v10")
    async with serve(bare_app, http="httptools", access_log=False) as base:
        port = int(base.rsplit(":", 1)[1])
        await drive(port, "")
        uvicorn_rate = await drive(port, "")
    print(f"simulator REST (records, rate limits, checks): {sim_rate:,.0f} req/s")
    print(f"uvicorn + bare ASGI 204 (peer):               {uvicorn_rate:,.0f} req/s")
    print(f"ratio simulator / uvicorn: {sim_rate / uvicorn_rate:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
