"""GatewayTransport: one WebSocket to the gateway, kept apart from the protocol state machine.

It holds the socket and the connection's inflater, and reads how the socket closed (by the
server with a code, by this side's keepalive timeout, or lost without a close frame). It knows
no opcode and no session: the shard's state machine decides what a payload or a close means.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from gateway.connection.compression import make_inflater
from gateway.connection.timings import ShardTimings
from gateway.egress import proxy_for
from gateway.user_agent import USER_AGENT

# websockets logs every frame at DEBUG, IDENTIFY and RESUME (the token) included: its logger
# is our own and never goes below INFO, whatever the root level.
_ws_log = logging.getLogger("gateway.shard.websockets")
_ws_log.setLevel(logging.INFO)


class UndecodablePayload(Exception):
    """A complete message that is not JSON."""


@dataclass(frozen=True, slots=True)
class Closed:
    """How a socket ended. `code` is the server's close code (None: none was received)."""

    code: int | None
    by: Literal["server", "us", "transport"]
    detail: str


def read_close(exc: ConnectionClosed) -> Closed:
    if exc.rcvd is not None:
        return Closed(exc.rcvd.code, "server", exc.rcvd.reason)
    if exc.sent is not None:  # we closed first and got no answer: keepalive timeout, mostly
        return Closed(None, "us", exc.sent.reason or f"closed by this side ({exc.sent.code})")
    return Closed(None, "transport", "no close frame")


class GatewayTransport:
    __slots__ = ("feed", "inflater", "ws")

    def __init__(self, compression: str) -> None:
        self.inflater = make_inflater(compression)
        self.feed = self.inflater.feed  # bound once: the receive path calls it per message
        self.ws: ClientConnection | None = None

    async def open(self, url: str, t: ShardTimings) -> ClientConnection:
        """The WebSocket handshake (the caller bounds it with the connect timeout)."""
        proxy = proxy_for(url)
        self.ws = await connect(
            url,
            max_size=None,
            compression=None,
            proxy=proxy.url if proxy is not None else None,  # one reading of the environment
            open_timeout=None,
            ping_interval=t.ping_interval,
            ping_timeout=t.ping_timeout,
            close_timeout=t.close_timeout,
            user_agent_header=USER_AGENT,
            logger=_ws_log,
        )
        return self.ws

    async def next_payload(self) -> Any:
        """The next complete payload, decoded (frames are joined by the inflater)."""
        assert self.ws is not None
        while True:
            data = self.feed(await self.ws.recv(decode=False))
            if data is not None:
                try:
                    return orjson.loads(data)
                except orjson.JSONDecodeError:
                    raise UndecodablePayload from None

    async def send(self, text: str) -> None:
        if self.ws is not None:
            await self.ws.send(text)

    async def close(self, code: int) -> None:
        """Close with `code` and wait for the socket to be gone (bounded by close_timeout)."""
        ws, self.ws = self.ws, None
        if ws is not None:
            await ws.close(code=code)
