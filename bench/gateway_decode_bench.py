"""Gateway receive path vs a bare zlib + orjson loop, on the same recorded zlib-stream.

Run: .venv/bin/python bench/gateway_decode_bench.py [--events 10000] [--rounds 7]

The shard path is the body of the shard's receive loop (`Shard._converse`) for every WebSocket
message: `ShardState.receive` (inflate with one zlib context, frames joined until 00 00 ff ff;
orjson; op switch; sequence bookkeeping; its decision) and the dispatch callback handed the
event, as the loop does. The peer is `zlib.decompressobj().decompress` +
`orjson.loads` per message. Both decode the same bytes in the same process; best of N rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import zlib
from typing import Any

import orjson

from gateway.connection.connection import Connection
from gateway.connection.context import ShardContext
from gateway.connection.limiter import SendLimiter
from gateway.connection.shard import Shard
from gateway.connection.state_machine import Act
from gateway.connection.transport import GatewayTransport


def record_stream(events: int, seed: int = 1) -> list[bytes]:
    """A zlib-stream as Discord sends it: one deflate context, Z_SYNC_FLUSH per payload."""
    rng = random.Random(seed)
    comp = zlib.compressobj()
    messages = []
    for seq in range(1, events + 1):
        kind = rng.choice(["MESSAGE_CREATE", "INTERACTION_CREATE", "GUILD_MEMBER_UPDATE"])
        data: dict[str, Any] = {
            "id": str(rng.getrandbits(63)),
            "guild_id": "81384788765712384",
            "channel_id": str(rng.getrandbits(63)),
            "author": {
                "id": str(rng.getrandbits(63)),
                "username": f"player{rng.randrange(10_000)}",
                "global_name": None,
                "avatar": f"{rng.getrandbits(128):032x}",
                "bot": False,
            },
            "content": " ".join(
                rng.choice(["draft", "pick", "ban", "team", "gg", "next"])
                for _ in range(rng.randrange(3, 40))
            ),
            "timestamp": "2024-05-01T12:00:00.000000+00:00",
            "mentions": [],
            "flags": 0,
            "components": [
                {
                    "type": 1,
                    "components": [
                        {"type": 2, "custom_id": f"b{i}"} for i in range(rng.randrange(0, 4))
                    ],
                }
            ],
        }
        payload = orjson.dumps({"op": 0, "s": seq, "t": kind, "d": data})
        messages.append(comp.compress(payload) + comp.flush(zlib.Z_SYNC_FLUSH))
    return messages


def bare(messages: list[bytes]) -> float:
    start = time.perf_counter()
    inflater = zlib.decompressobj()
    decompress = inflater.decompress
    loads = orjson.loads
    for message in messages:
        loads(decompress(message))
    return time.perf_counter() - start


async def shard_path(messages: list[bytes]) -> tuple[float, int]:
    handled = 0

    def dispatch(event: str, data: Any, shard: Shard) -> None:
        nonlocal handled
        handled += 1

    context = ShardContext("bench", 0, lambda: "ws://unused", dispatch=dispatch)
    shard = Shard(0, 1, context)
    conn = Connection(1, GatewayTransport("zlib-stream"), SendLimiter())
    conn.accepting = True  # as after READY: dispatches are taken
    receive, on, hand_on = shard.state.receive, context.dispatch, Act.HAND_ON
    start = time.perf_counter()
    for message in messages:  # the receive loop's body (the loop also handles other acts)
        act, event, data = receive(conn, message)
        if act is hand_on and on is not None:
            try:
                on(event, data, shard)
            except Exception:  # pragma: no cover - as the loop: logged there
                pass
    elapsed = time.perf_counter() - start
    assert shard.seq == len(messages) and handled == len(messages)
    return elapsed, handled


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    messages = record_stream(args.events)
    total = sum(len(m) for m in messages)
    bare_times, shard_times = [], []
    for _ in range(args.rounds):  # interleaved so both see the same machine state
        bare_times.append(bare(messages))
        shard_times.append(asyncio.run(shard_path(messages))[0])
    b, s = min(bare_times), min(shard_times)
    print(f"recorded zlib-stream: {args.events} dispatches, {total / 1024:.0f} KiB compressed")
    print(f"bare zlib + orjson : {args.events / b:>10,.0f} msg/s  ({b * 1000:.1f} ms)")
    print(f"shard receive path : {args.events / s:>10,.0f} msg/s  ({s * 1000:.1f} ms)")
    print(f"ratio (shard / bare throughput): {b / s:.3f}x  (target >= 0.85x)")


if __name__ == "__main__":
    main()
