"""What one POST to the main app costs the sender when POSTs come paced, as events with
EVENTS_BATCH_MAX=1 do: the floor under the events bench's CPU per event.

`--rate` POSTs a second for `--seconds` (each started on its tick, not in a burst) of an
event-sized body to the stand-in main app (tests/support/harness/sim_process.py, uvicorn in a
child process, answering after `--delay`, 20 ms: about 20 open at once), in this process
(uvloop, as under uvicorn), alternating rounds:

- `aiohttp`: aiohttp's ClientSession alone, the floor under the client;
- `client`: the server's one HTTP client (`OriginClient`: httpx on aiohttp's pool through
  httpx-aiohttp, gateway/rest/http_client.py), as the events' sender holds it;
- `sender`: the events' `SignedSender` on that client: the headers, the HMAC and Ed25519
  signatures of every attempt, the in-flight bound (gateway/delivery/sender.py).

Printed: this process's CPU per POST (every thread), and the median of the rounds.

    .venv/bin/python bench/paced_post_bench.py [--rate 1000] [--seconds 5] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from bench.forward_client_bench import BODY, HEADERS
from gateway.delivery.sender import HttpPoster, SignedSender
from gateway.delivery.signatures import Ed25519Signer
from tests.support.harness.sim_process import sim_process

PATH = "/api/discord/events"
TOKEN = "paced-bench-token-0123456789abcdef0123"
NAMES = ("aiohttp", "client", "sender")
Post = Callable[[int], Awaitable[object]]


async def paced(post: Post, rate: float, seconds: float) -> float:
    """CPU (us) per POST of `rate` POSTs a second for `seconds`."""
    loop = asyncio.get_running_loop()
    count = int(rate * seconds)
    tasks: list[asyncio.Future[object]] = []
    cpu, start = time.process_time(), loop.time()
    for i in range(count):
        wait = start + i / rate - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.ensure_future(post(i)))
    await asyncio.gather(*tasks)
    return (time.process_time() - cpu) / count * 1e6


async def run(name: str, base: str, rate: float, seconds: float) -> float:
    if name == "aiohttp":
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

        async def bare(i: int) -> object:
            async with session.post(base + PATH, data=BODY, headers=HEADERS) as answer:
                await answer.read()
                return answer.status

        try:
            return await paced(bare, rate, seconds)
        finally:
            await session.close()
    poster = HttpPoster.open(base, max_connections=100)
    if name == "client":

        async def client(i: int) -> object:
            return await poster.post(base + PATH, HEADERS, BODY, 10.0)

        post: Post = client
    else:
        sender = SignedSender(poster, TOKEN, signers=[Ed25519Signer()])

        async def signed(i: int) -> object:
            return await sender.send(base + PATH, f"d-{i}", lambda now: BODY)

        post = signed
    try:
        return await paced(post, rate, seconds)
    finally:
        await poster.aclose()


async def main(rate: float, seconds: float, rounds: int, delay: float) -> None:
    async with sim_process(main_delay=delay) as sim:
        print(f"== {rate:g} POSTs/s for {seconds:g} s, main app {delay * 1000:g} ms")
        figures: dict[str, list[float]] = {name: [] for name in NAMES}
        for round_no in range(rounds):
            for name in NAMES if round_no % 2 == 0 else NAMES[::-1]:
                figures[name].append(await run(name, sim.main_base, rate, seconds))
                print(f"round {round_no + 1}: {name:<8} {figures[name][-1]:6.0f} us CPU per POST")
        for name in NAMES:
            print(f"median {name:<8} {statistics.median(figures[name]):6.0f} us CPU per POST")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--delay", type=float, default=0.02)
    args = parser.parse_args()
    uvloop.run(main(args.rate, args.seconds, args.rounds, args.delay))
