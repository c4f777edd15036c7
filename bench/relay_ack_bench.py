"""Acknowledgement latency of the interaction relay vs a bare httpx POST, same loopback, same run.

Relay: the simulator writes INTERACTION_CREATE -> GatewayManager -> InteractionRelay ->
DiscordRest -> the simulator reads POST /interactions/{id}/{token}/callback (both instants on the
simulator's monotonic clock), at RATE interactions/s while the main app takes SLOW s per forward.
Peer: a bare `httpx.AsyncClient.post` to the same simulator route at the same rate: from the
call to the simulator reading the request.

    .venv/bin/python bench/relay_ack_bench.py [--count 500] [--rate 100] [--slow 2.0]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from gateway.rest import USER_AGENT
from gateway.simulator import factory
from tests.relay.support import MainApp, percentile, relay_stack


async def paced(count: int, rate: float, one: object) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for i in range(count):
        await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
        tasks.append(asyncio.create_task(one(i)))  # type: ignore[operator]
    await asyncio.gather(*tasks)


async def main(count: int, rate: float, slow: float) -> None:
    async with relay_stack(MainApp(delay=slow), forward_timeout=slow + 5) as stack:
        sim = stack.sim
        # -- peer: bare httpx POST to the same route ---------------------------------------
        bare: list[float] = []
        async with httpx.AsyncClient() as client:
            headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}

            async def post(i: int) -> None:
                path = f"/interactions/{900_000 + i}/bench-token/callback"
                t0 = time.monotonic()
                await client.post(sim.api_base + path, content=b'{"type":5}', headers=headers)
                (req,) = [r for r in sim.rest.requests[-50:] if r.path == path]
                bare.append(req.at - t0)

            await paced(count, rate, post)

        # -- relay: dispatch -> callback received ------------------------------------------
        sent: list[dict[str, object]] = []

        async def dispatch(i: int) -> None:
            sent.append(await stack.send(factory.command()))

        await paced(count, rate, dispatch)
        records = [sim.interaction(str(s["id"])) for s in sent]
        deadline = time.monotonic() + 30
        while not all(r is not None and r.callbacks for r in records):
            if time.monotonic() > deadline:
                raise SystemExit("some interactions were never acknowledged")
            await asyncio.sleep(0.01)
        relay = [
            r.callbacks[0].at - r.sent_at
            for r in records
            if r is not None and r.sent_at is not None
        ]
        for task in list(stack.relay._tasks):  # the slow forwards are not measured
            task.cancel()

    def ms(values: list[float], p: float) -> float:
        return percentile(values, p) * 1000

    print(f"{count} interactions at {rate:.0f}/s, main app {slow:.1f} s per forward")
    print(f"bare httpx POST : p50 {ms(bare, 50):6.2f} ms  p99 {ms(bare, 99):6.2f} ms")
    print(f"relay ack       : p50 {ms(relay, 50):6.2f} ms  p99 {ms(relay, 99):6.2f} ms")
    print(
        f"ratio relay/bare: p50 {percentile(relay, 50) / percentile(bare, 50):.2f}x"
        f"  p99 {percentile(relay, 99) / percentile(bare, 99):.2f}x"
        f"   (targets: p50 <= 2x, relay p99 < 10 ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--slow", type=float, default=2.0)
    args = parser.parse_args()
    asyncio.run(main(args.count, args.rate, args.slow))
