"""The Discord simulator and an events main app in a process of their own, for
bench/events_bench.py (the forwarder under test is then the only thing in its process).

    python -m tests.support.harness.events_sim --main-delay 0.02
prints {"api_base", "token", "main_base"}, then answers one line per command:
    {"op": "ready"} -> {"ok": bool}             (a client identified on shard 0)
    {"op": "run", "count": N, "rate": R, "guilds": G} -> {"took": s}
        N MESSAGE_CREATE over G guilds at R per second (the instant of each dispatch kept)
    {"op": "wait", "count": N, "timeout": s} -> {"ok": bool, "last": monotonic of the last}
    {"op": "stats"} -> {"latencies": [s, ...], "posts": n, "events": n, "first": monotonic}
    {"op": "quit"}
A latency is from the dispatch being handed to the simulator to the main app reading the
request that carries it (both on CLOCK_MONOTONIC, in this process).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import orjson

from gateway.simulator import DiscordSimulator
from tests.support.harness.json_lines import commands, reply
from tests.support.harness.server import read_request, serve

CHANNEL = "1100000000000000002"


class EventsMain:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.arrived: dict[str, float] = {}  # content -> first arrival
        self.posts = 0
        self.last = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw, _ = await read_request(scope, receive)
        now = time.monotonic()
        self.posts += 1
        for event in orjson.loads(raw)["events"]:
            self.arrived.setdefault(event["data"]["content"], now)
        self.last = now
        await asyncio.sleep(self.delay)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def _run(sim: DiscordSimulator, sent: dict[str, float], cmd: dict[str, Any]) -> float:
    count, rate, guilds = cmd["count"], cmd["rate"], cmd["guilds"]
    guild_ids = [str((n + 1) << 22) for n in range(guilds)]
    payloads = [
        sim.guild_events.message(guild_ids[n % guilds], CHANNEL, str(n)) for n in range(count)
    ]
    start = time.monotonic()
    for n, data in enumerate(payloads):
        due = start + n / rate
        now = time.monotonic()
        if due > now + 0.001:
            await asyncio.sleep(due - now)
        sent[str(n)] = time.monotonic()
        await sim.dispatch("MESSAGE_CREATE", data)
    return time.monotonic() - start


async def _serve(delay: float) -> None:
    main = EventsMain(delay)
    sent: dict[str, float] = {}
    async with DiscordSimulator() as sim, serve(main, backlog=4096) as main_base:
        reply({"api_base": sim.api_base, "token": sim.token, "main_base": main_base})
        async for cmd in commands(limit=1 << 24):
            op = cmd["op"]
            if op == "ready":
                try:
                    await sim.wait_ready(timeout=30)
                    reply({"ok": True})
                except TimeoutError:
                    reply({"ok": False})
            elif op == "run":
                reply({"took": await _run(sim, sent, cmd)})
            elif op == "wait":
                deadline = time.monotonic() + cmd["timeout"]
                while len(main.arrived) < cmd["count"] and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                reply({"ok": len(main.arrived) >= cmd["count"], "last": main.last})
            elif op == "stats":
                latencies = [at - sent[c] for c, at in main.arrived.items() if c in sent]
                first = min(sent.values(), default=0.0)
                reply(
                    {
                        "latencies": latencies,
                        "posts": main.posts,
                        "events": len(main.arrived),
                        "first": first,
                    }
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--main-delay", type=float, default=0.02)
    asyncio.run(_serve(parser.parse_args().main_delay))
