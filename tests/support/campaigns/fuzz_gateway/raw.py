"""Send bytes to the client exactly as given, through the simulator's raw connection objects.

`send_json` keeps a compressed stream intact (it goes through the connection's own
compressor, like every payload the simulator sends); `send_frame` puts bytes or text on the
wire verbatim (in a compressed mode that breaks the stream, which is the point).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from gateway.simulator import DiscordSimulator
from gateway.simulator.connection import SimConnection


def newest(sim: DiscordSimulator) -> SimConnection:
    """The newest open connection (also before IDENTIFY, when its shard is still unknown)."""
    open_conns = sim.open_connections()
    if not open_conns:
        raise LookupError("no open gateway connection")
    return open_conns[-1]


def encode(payload: Any) -> bytes:
    """JSON bytes of `payload`; bytes pass through unchanged (already-encoded JSON text)."""
    if isinstance(payload, bytes):
        return payload
    try:
        return orjson.dumps(payload)
    except TypeError:  # integers beyond 64 bits: the stdlib writes them
        return json.dumps(payload, separators=(",", ":")).encode()


async def send_json(conn: SimConnection, payload: Any) -> None:
    """One payload of any JSON shape, compressed in-stream when the connection compresses."""
    data = encode(payload)
    conn.event("out", None, "fuzz", data[:200])
    if conn.compressor.binary:
        await conn.ws.send(conn.compressor.compress(data))
    else:
        await conn.ws.send(data.decode("utf-8", "replace"))


async def send_frame(conn: SimConnection, frame: bytes | str) -> None:
    """One WebSocket message, verbatim (binary for bytes, text for str)."""
    conn.event("out", None, "fuzz-frame", frame[:200])
    await conn.ws.send(frame)


def compress_only(conn: SimConnection, payload: Any) -> bytes:
    """The connection's compressed bytes for `payload` (stream state advances), not sent."""
    return conn.compressor.compress(encode(payload))
