"""The HTTP endpoint's first response (POST /interactions) against its peers, same run.

One app (create_app under a real uvicorn, production settings, DISCORD_PUBLIC_KEY set), the
simulator and the stand-in main app in one event loop. At RATE per second, COUNT each of:
- PING: the simulator's HttpDelivery POSTs a signed PING; time from the POST to the answer
  read (signature check + route, no pipeline): the peer of
- command: a signed slash command in `defer` mode; the answer is its first response
  (`{"type": 5}`) from the relay's pipeline; the difference is what the pipeline costs;
- gateway: the same command as INTERACTION_CREATE; the simulator's ack latency (dispatch
  written -> callback read), the gateway path's first response.
Client-side figures (POST -> answer read) include the loop's other work (the forwards, the
stand-in main app, the simulator all share it); the server-side ones (`duration_ms` of the
access log: request received -> answer ready) show the route and pipeline alone.

    .venv/bin/python bench/endpoint_bench.py [--count 200] [--rate 50]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.relay_ack_bench import paced
from gateway.simulator import factory
from gateway.simulator.http_delivery import HttpDelivery
from tests.support.harness.app import running_app
from tests.support.harness.main_app import MainApp
from tests.support.harness.relay_stack import percentile
from tests.support.harness.server import serve


def line(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name:8} n={len(ms):4}  p50 {percentile(ms, 50):6.2f} ms  "
        f"p90 {percentile(ms, 90):6.2f} ms  p99 {percentile(ms, 99):6.2f} ms"
    )


class Durations(logging.Handler):
    """duration_ms of each access-log line of POST /interactions, in seconds."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "POST /interactions" in record.getMessage():
            self.values.append(getattr(record, "duration_ms", 0.0) / 1000)


async def main(count: int, rate: float) -> None:
    durations = Durations()
    access = logging.getLogger("asgi_app.access")
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw().hex()
    stand_in = MainApp()
    with tempfile.TemporaryDirectory() as state:
        async with (
            serve(stand_in) as main_url,
            running_app(
                Path(state),
                DISCORD_PUBLIC_KEY=public,
                FORWARD_URL=main_url + "/api/discord/interactions",
                LOG_LEVEL="WARNING",
            ) as srv,
            HttpDelivery(srv.sim, srv.url + "/interactions", key=key) as discord,
        ):
            ping = orjson.dumps({"type": 1, "id": "1", "token": "t", "application_id": "1000"})

            async def one_ping(_i: int) -> None:
                await discord.post(ping)

            async def one_command(_i: int) -> None:
                await discord.deliver(factory.command("draft"))

            async def one_gateway(_i: int) -> None:
                await srv.sim.send_interaction(factory.command("draft"))

            await paced(20, rate, one_command)  # warm-up (connections, caches)
            access.addHandler(durations)
            access.setLevel(logging.INFO)
            discord.deliveries.clear()
            await paced(count, rate, one_ping)
            pings = [d.elapsed for d in discord.deliveries if d.status == 200]
            ping_server, durations.values = durations.values, []
            discord.deliveries.clear()
            await paced(count, rate, one_command)
            commands = [d.elapsed for d in discord.deliveries if d.accepted]
            command_server = durations.values
            access.removeHandler(durations)
            before = len(srv.sim.ack_latencies)
            await paced(count, rate, one_gateway)
            await srv.sim.wait_for(lambda: len(srv.sim.ack_latencies) >= before + count, 30)
            gateway = srv.sim.ack_latencies[before:]
            await srv.sim.wait_for(lambda: len(stand_in.requests) >= 20 + 2 * count, 30)
    print("client side (POST -> answer read):")
    print(line("PING", pings))
    print(line("command", commands))
    print("server side (received -> answer ready):")
    print(line("PING", ping_server))
    print(line("command", command_server))
    print("gateway path (INTERACTION_CREATE written -> callback read):")
    print(line("gateway", gateway))
    print(
        "pipeline cost at p50, server side (command - PING): "
        f"{(percentile(command_server, 50) - percentile(ping_server, 50)) * 1000:.2f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    asyncio.run(main(args.count, args.rate))
