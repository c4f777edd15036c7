"""Which client for forwards: the server's own, httpx on its own pool, or aiohttp alone.

N forwards at once (an interaction-sized JSON body, the relay's headers) to the stand-in main
app (tests/support/harness/sim_process.py, uvicorn in a child process) that answers after DELAY s;
each client in the same process (uvloop, as under uvicorn), alternating rounds. Per run: the
client process's CPU per request (the whole batch, connects included), the time from the
start until the main app has read the last request (what a capped or slow client delays), and
until every answer is back.

- `server`: the forwards' client as the relay holds it (`forward.new_forward_client`, as large
  as N): httpx on aiohttp's pool through httpx-aiohttp (gateway/rest/http_client.py). Run from
  an older tree, this is whatever that tree's forwards used (`git worktree add` a commit, copy
  this file there, run it there).
- `httpx`: httpx on its own pool (httpcore), given a pool as large as N (so it does not queue:
  its cost per request is what grows).
- `aiohttp`: aiohttp's ClientSession alone, no cap: the floor under `server`.

    .venv/bin/python bench/forward_client_bench.py [--inflight 100 --inflight 1000] [--rounds 2]
        [--client server --client httpx --client aiohttp] [--keep-alive]

`--keep-alive`: each client first sends a batch that opens its connections, and only the next
batch (the same size, on those connections) is measured: the CPU of a request on a kept-alive
connection, as an acknowledgement's on the callbacks' warm pool.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import aiohttp
import httpx
import orjson
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from gateway.interactions.forward import new_forward_client
from gateway.simulator import factory
from tests.support.harness.sim_process import SimProcess, sim_process

BODY = orjson.dumps(factory.command())
HEADERS = {
    "Content-Type": "application/json",
    "Authorization": "main-app-shared-secret-0123456789abcdef",
    "X-Response-Mode": "deferred",
    "X-Signature-Timestamp": "1780000000",
    "X-Signature-SHA256": "0" * 64,
    "X-Signature-Ed25519": "0" * 128,
}


Post = Callable[[str, int], Awaitable[int]]
PREFIX = "/api/discord/interactions"
NAMES = ("server", "httpx", "aiohttp")


async def run_client(
    name: str, sim: SimProcess, inflight: int, keep_alive: bool = False
) -> tuple[float, float, float]:
    base = sim.main_base
    close: Callable[[], Awaitable[None]]
    if name == "httpx":
        limits = httpx.Limits(max_connections=inflight, max_keepalive_connections=inflight)
        hx = httpx.AsyncClient(limits=limits, timeout=60)

        async def post(path: str, i: int) -> int:
            answer = await hx.post(base + path, content=BODY, headers=HEADERS)
            return answer.status_code

        close = hx.aclose
    elif name == "aiohttp":
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

        async def post(path: str, i: int) -> int:
            async with session.post(base + path, data=BODY, headers=HEADERS) as answer:
                await answer.read()
                return answer.status

        close = session.close
    else:
        server = new_forward_client(base + PREFIX, inflight)

        async def post(path: str, i: int) -> int:
            answer = await server.request("POST", path.removeprefix(PREFIX), HEADERS, BODY)
            return answer.status

        close = server.aclose
    if keep_alive:  # open the connections; the batch below reuses them
        warm = [post("/api/discord/interactions/command", i) for i in range(inflight)]
        await asyncio.gather(*warm)
    before = len((await sim.call("main_times"))["at"])
    cpu0, start = time.process_time(), time.monotonic()
    statuses = await asyncio.gather(
        *(post("/api/discord/interactions/command", i) for i in range(inflight))
    )
    done, cpu = time.monotonic() - start, time.process_time() - cpu0
    await close()
    assert all(s == 200 for s in statuses), statuses[:5]
    arrivals = (await sim.call("main_times"))["at"][before:]
    return cpu / inflight * 1e6, max(arrivals) - start, done


async def main(
    levels: list[int], rounds: int, delay: float, names: Sequence[str], keep_alive: bool
) -> None:
    async with sim_process(main_delay=delay) as sim:
        for inflight in levels:
            kept = ", on kept-alive connections" if keep_alive else ""
            print(f"== {inflight} forwards at once, main app {delay:g} s{kept}")
            runs: dict[str, list[tuple[float, float, float]]] = {n: [] for n in names}
            for round_no in range(rounds):
                for name in names if round_no % 2 == 0 else names[::-1]:
                    runs[name].append(await run_client(name, sim, inflight, keep_alive))
                    cpu, last, done = runs[name][-1]
                    print(
                        f"round {round_no + 1}: {name:<15} {cpu:7.0f} us CPU per request,"
                        f" last read by the main app after {last:5.2f} s,"
                        f" all answered {done:5.2f} s"
                    )
            for name in names:
                cpu = statistics.median(r[0] for r in runs[name])
                last = statistics.median(r[1] for r in runs[name])
                print(f"median {name:<15} {cpu:7.0f} us CPU per request, last read {last:5.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--inflight", type=int, action="append")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--client", choices=NAMES, action="append")
    parser.add_argument("--keep-alive", action="store_true", help="measure reused connections")
    args = parser.parse_args()
    levels = args.inflight or [100, 1000]
    names = args.client or NAMES
    uvloop.run(main(levels, args.rounds, args.delay, names, args.keep_alive))
