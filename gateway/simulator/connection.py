"""One gateway WebSocket connection as the simulator sees it (a record plus the live socket)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from gateway.simulator.compression import Compressor, corrupt
from gateway.simulator.recording import GatewayEvent

if TYPE_CHECKING:
    from gateway.simulator.sessions import Dispatch, Session

OP_NAMES = {
    0: "DISPATCH",
    1: "HEARTBEAT",
    2: "IDENTIFY",
    3: "PRESENCE_UPDATE",
    4: "VOICE_STATE_UPDATE",
    6: "RESUME",
    7: "RECONNECT",
    8: "REQUEST_GUILD_MEMBERS",
    9: "INVALID_SESSION",
    10: "HELLO",
    11: "HEARTBEAT_ACK",
    31: "REQUEST_SOUNDBOARD_SOUNDS",
}

Record = Callable[[GatewayEvent], None]


@dataclass(eq=False)
class SimConnection:
    """Public fields describe the connection (tests assert on them); the rest is plumbing."""

    id: int
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    opened_at: float
    ws: ServerConnection = field(repr=False)
    compressor: Compressor = field(repr=False)
    record: Record = field(repr=False)
    clock: Callable[[], float] = field(repr=False)
    chunk_size: int | None = None
    shard: int | None = None
    session: Session | None = field(default=None, repr=False)
    identified: bool = False
    closed_at: float | None = None
    close_code: int | None = None
    close_reason: str | None = None
    closed_by: str | None = None  # "client", "server" or "transport" (no close frame)
    corrupt_next: bool = False
    window_start: float | None = None
    window_count: int = 0
    last_in_at: float | None = None  # when the client last sent a frame (liveness)

    @property
    def kind(self) -> str:
        """ "resume" when the client came through READY's resume_gateway_url, else "gateway"."""
        return "resume" if self.path.startswith("/resume") else "gateway"

    @property
    def compress(self) -> str | None:
        return self.query.get("compress")

    @property
    def open(self) -> bool:
        return self.ws.state is State.OPEN

    def event(
        self, direction: str, op: int | None, kind: str, payload: Any, seq: int | None = None
    ) -> None:
        self.record(
            GatewayEvent(self.clock(), self.shard, self.id, direction, op, kind, payload, seq)
        )

    async def send_payload(self, payload: dict[str, Any]) -> bool:
        """Encode, record, compress and send one payload; False when the socket is gone."""
        op = payload["op"]
        kind = payload.get("t") or OP_NAMES.get(op, f"OP_{op}")
        self.event("out", op, kind, payload, payload.get("s"))
        data = orjson.dumps(payload)
        try:
            if self.corrupt_next:
                self.corrupt_next = False
                self.event("out", None, "corrupt", None)
                if self.compressor.binary:
                    await self._send_binary(corrupt(self.compressor.compress(data)))
                else:
                    await self.ws.send(data[: len(data) // 2].decode("utf-8", "replace"))
                return True
            if self.compressor.binary:
                await self._send_binary(self.compressor.compress(data))
            else:
                await self.ws.send(data.decode())
        except ConnectionClosed:
            return False
        return True

    async def send_dispatch(self, item: Dispatch) -> bool:
        return await self.send_payload({"op": 0, "t": item.name, "s": item.seq, "d": item.data})

    async def _send_binary(self, data: bytes) -> None:
        size = self.chunk_size
        if size is None or len(data) <= size:
            await self.ws.send(data)
            return
        for start in range(0, len(data), size):
            await self.ws.send(data[start : start + size])

    def count_send(self, limit: int, window: float) -> bool:
        """Count one client send in a fixed window from the first send; False when over."""
        now = self.clock()
        if self.window_start is None or now - self.window_start >= window:
            self.window_start = now
            self.window_count = 0
        self.window_count += 1
        return self.window_count <= limit

    async def close(self, code: int, reason: str = "") -> None:
        if self.closed_by is None:
            self.closed_by = "server"
            self.close_code = code
            self.close_reason = reason
        self.event("out", None, "close", {"code": code, "reason": reason, "by": "server"})
        await self.ws.close(code, reason)

    def abort(self) -> None:
        """Kill the TCP connection without a close frame (the client sees 1006)."""
        if self.closed_by is None:
            self.closed_by = "transport"
            self.close_code = 1006
        self.event("out", None, "drop", None)
        self.ws.transport.abort()
