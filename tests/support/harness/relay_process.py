"""The server's interaction relay in a process of its own, as tests/support/harness/relay_stack.py
wires it (GatewayManager + DiscordRest + InteractionRelay, zlib-stream), on uvloop as under
uvicorn, started as the server starts it (two callback connections opened ahead, the garbage
collector set by asgi_app/gc_tuning.py): the peer of bench/discordjs_relay.mjs, measured the
same way from outside.

    python -m tests.support.harness.relay_process API_BASE BOT_TOKEN FORWARD_BASE
    [--forward-timeout S]
prints "ready" once shard 0 is READY; stops when stdin ends (slow forwards still running are
cancelled: they are not what is measured)."""

from __future__ import annotations

import argparse
import asyncio
import sys

import uvloop

from asgi_app.gc_tuning import tune_gc
from tests.support.harness.relay_stack import wired_relay


async def run(api_base: str, token: str, forward_base: str, forward_timeout: float) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with wired_relay(api_base, token, forward_base, forward_timeout=forward_timeout) as wired:
        await wired.rest.warm_callbacks(2)  # as the server's start-up does (services.py)
        tune_gc()  # and this (asgi_app/gc_tuning.py)
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await reader.read()
        await wired.relay.drain(0)  # what is left is cancelled


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("api_base")
    parser.add_argument("token")
    parser.add_argument("forward_base")
    parser.add_argument("--forward-timeout", type=float, default=10.0)
    args = parser.parse_args()
    uvloop.run(run(args.api_base, args.token, args.forward_base, args.forward_timeout))
