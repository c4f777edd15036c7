"""The gateway WebSocket side of the simulator: Discord's v10 protocol over `websockets`."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from gateway.simulator.compression import make_compressor
from gateway.simulator.config import KNOWN_INTENTS, PRIVILEGED_INTENTS, SimConfig
from gateway.simulator.connection import OP_NAMES, SimConnection
from gateway.simulator.gateway_faults import GatewayFaults, NoConnectionError
from gateway.simulator.ready import parse_shard, ready_data
from gateway.simulator.recording import GatewayEvent, Takeover
from gateway.simulator.sessions import Dispatch, Session

# Closes that end the session on Discord's side (a RESUME afterwards gets op 9 false).
INVALIDATING_CLOSES = frozenset({4004, 4007, 4009, 4010, 4011, 4012, 4013, 4014})
GUARDED_OPS = frozenset({3, 4, 8, 31})  # need an identified connection, else 4003

# websockets logs whole frames (IDENTIFY carries the token) at DEBUG: the simulator's server
# logs through its own logger, kept at INFO so an app running at DEBUG never prints them.
WS_LOGGER = logging.getLogger("gateway.simulator.websockets")
WS_LOGGER.setLevel(logging.INFO)


class NoSessionError(LookupError):
    """dispatch() for a shard that has no resumable session."""


class GatewayServer(GatewayFaults):
    def __init__(
        self,
        config: SimConfig,
        record: Callable[[GatewayEvent], None],
        notify: Callable[[], None],
        on_dispatch_sent: Callable[[Dispatch, SimConnection], None],
    ) -> None:
        self.config = config
        self._record = record
        self._notify = notify
        self._on_dispatch_sent = on_dispatch_sent
        self._rng = random.Random(config.seed)
        self.connections: list[SimConnection] = []
        self.sessions: dict[str, Session] = {}
        self._by_shard: dict[int, Session] = {}
        self._servers: list[Server] = []
        self._port = 0
        self._next_conn = 0
        # session start limit
        self.start_remaining = config.session_start_remaining
        self._start_reset_at = config.clock() + config.session_start_reset_after_ms / 1000
        # identify throttle bookkeeping
        self._last_identify: dict[int, float] = {}
        self.identify_violations: list[GatewayEvent] = []
        # newer connections that replaced an open one on its shard (recording.Takeover)
        self.takeovers: list[Takeover] = []
        # faults
        self.listening = False
        self._init_faults()

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"ws://{self.config.host}:{self._port}"

    @property
    def resume_url(self) -> str:
        return f"{self.url}/resume"

    async def start(self) -> None:
        await self._listen(self.config.gateway_port)

    async def _listen(self, port: int) -> None:
        server = await serve(
            self._handle,
            self.config.host,
            port,
            process_request=self._process_request,
            compression=None,
            max_size=1 << 20,
            ping_interval=None,
            close_timeout=self.config.close_timeout,
            logger=WS_LOGGER,
        )
        self._servers.append(server)
        self._port = next(iter(server.sockets)).getsockname()[1]
        self.listening = True
        self._notify()

    async def stop(self) -> None:
        if self._refuse_timer is not None:
            self._refuse_timer.cancel()
        if self._relisten is not None:
            await asyncio.gather(self._relisten, return_exceptions=True)
        for conn in self.connections:
            if conn.open:
                conn.abort()
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    # ------------------------------------------------------------------ handshake
    def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        if self.refusing_resume_host and urlsplit(request.path).path.startswith("/resume"):
            self._record(
                GatewayEvent(self.config.clock(), None, -1, "in", None, "refused", request.path)
            )
            self._notify()
            return ws.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Service unavailable\n")
        if self.refusing is not None:
            self._record(
                GatewayEvent(self.config.clock(), None, -1, "in", None, "refused", request.path)
            )
            self._notify()
            return ws.respond(self.refusing, "Service unavailable\n")
        query = dict(parse_qsl(urlsplit(request.path).query))
        if query.get("encoding", "json") != "json":
            return ws.respond(HTTPStatus.BAD_REQUEST, "only encoding=json is simulated\n")
        if query.get("compress") not in (None, "zlib-stream", "zstd-stream"):
            return ws.respond(HTTPStatus.BAD_REQUEST, "unsupported compress\n")
        return None

    # ------------------------------------------------------------------ connection loop
    async def _handle(self, ws: ServerConnection) -> None:
        conn = self._open(ws)
        try:
            if conn.query.get("v", "10") != "10":
                await conn.close(4012, "Invalid API version.")
                return
            if not self.withholding_hello:
                interval = self.config.heartbeat_interval_ms
                await conn.send_payload({"op": 10, "d": {"heartbeat_interval": interval}})
            async for message in ws:
                await self._receive(conn, message)
                if conn.closed_by is not None:
                    break
        except ConnectionClosed:
            pass
        finally:
            self._closed(conn)

    def _open(self, ws: ServerConnection) -> SimConnection:
        assert ws.request is not None
        self._next_conn += 1
        parts = urlsplit(ws.request.path)
        conn = SimConnection(
            id=self._next_conn,
            path=parts.path or "/",
            query=dict(parse_qsl(parts.query)),
            headers=_lower(ws.request.headers),
            opened_at=self.config.clock(),
            ws=ws,
            compressor=make_compressor(dict(parse_qsl(parts.query)).get("compress")),
            record=self._record,
            clock=self.config.clock,
            chunk_size=self.config.compressed_chunk_size,
        )
        self.connections.append(conn)
        conn.event("in", None, "connect", {"path": ws.request.path})
        self._notify()
        return conn

    def _closed(self, conn: SimConnection) -> None:
        conn.closed_at = self.config.clock()
        if conn.closed_by is None:
            rcvd = conn.ws.protocol.close_rcvd
            conn.closed_by = "client" if rcvd is not None else "transport"
            conn.close_code = rcvd.code if rcvd is not None else 1006
            conn.close_reason = rcvd.reason if rcvd is not None else ""
            conn.event("in", None, "close", {"code": conn.close_code, "reason": conn.close_reason})
        session = conn.session
        if session is not None and session.connection is conn:
            session.connection = None
            client_ended = conn.closed_by == "client" and conn.close_code in (1000, 1001)
            server_ended = conn.closed_by == "server" and conn.close_code in INVALIDATING_CLOSES
            if client_ended or server_ended:
                session.invalidate()
        self._notify()

    async def _receive(self, conn: SimConnection, message: str | bytes) -> None:
        raw = message.encode() if isinstance(message, str) else message
        conn.last_in_at = self.config.clock()
        if not conn.count_send(self.config.send_limit, self.config.send_window):
            conn.event("in", None, "rate_limited", None)
            await conn.close(4008, "Rate limited.")
            return
        if len(raw) > self.config.max_payload_bytes:
            conn.event("in", None, "too_large", {"size": len(raw)})
            await conn.close(4002, "Payload too large.")
            return
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            conn.event("in", None, "garbage", raw)
            await conn.close(4002, "Error while decoding payload.")
            return
        if not isinstance(payload, dict) or not isinstance(payload.get("op"), int):
            conn.event("in", None, "garbage", payload)
            await conn.close(4002, "Error while decoding payload.")
            return
        op: int = payload["op"]
        conn.event("in", op, OP_NAMES.get(op, f"OP_{op}"), payload)
        self._notify()
        d = payload.get("d")
        if op == 1:
            await self._heartbeat(conn)
        elif op == 2:
            await self._identify(conn, d)
        elif op == 6:
            await self._resume(conn, d)
        elif op in GUARDED_OPS:
            if not conn.identified:
                await conn.close(4003, "Not authenticated.")
        else:
            await conn.close(4001, "Unknown opcode.")

    async def _heartbeat(self, conn: SimConnection) -> None:
        if None in self._not_acking or conn.shard in self._not_acking:
            return
        await conn.send_payload({"op": 11})

    # ------------------------------------------------------------------ identify
    def start_limit(self) -> dict[str, int]:
        now = self.config.clock()
        if now >= self._start_reset_at:
            self.start_remaining = self.config.session_start_total
            self._start_reset_at = now + self.config.session_start_reset_after_ms / 1000
        return {
            "total": self.config.session_start_total,
            "remaining": self.start_remaining,
            "reset_after": max(0, round((self._start_reset_at - now) * 1000)),
            "max_concurrency": self.config.max_concurrency,
        }

    async def _identify(self, conn: SimConnection, d: Any) -> None:
        if conn.identified:
            await conn.close(4005, "Already authenticated.")
            return
        if not isinstance(d, dict) or not isinstance(d.get("properties", {}), dict):
            await conn.close(4002, "Error while decoding payload.")
            return
        if self.token_revoked or d.get("token") != self.config.token:
            await conn.close(4004, "Authentication failed.")
            return
        intents = d.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents & ~KNOWN_INTENTS:
            await conn.close(4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.config.allowed_privileged_intents:
            await conn.close(4014, "Disallowed intent(s).")
            return
        shard = parse_shard(d.get("shard", [0, 1]))
        if shard is None:
            await conn.close(4010, "Invalid shard.")
            return
        if self.required_shards is not None and shard[1] < self.required_shards:
            await conn.close(4011, "Sharding required.")
            return
        if self.start_limit()["remaining"] <= 0:
            conn.event("out", None, "session_start_limit", None)
            await conn.send_payload({"op": 9, "d": False})
            return
        now = self.config.clock()
        bucket = shard[0] % self.config.max_concurrency
        last = self._last_identify.get(bucket)
        if last is not None and now - last < self.config.identify_interval:
            violation = GatewayEvent(now, shard[0], conn.id, "in", 2, "identify_too_fast", d)
            self.identify_violations.append(violation)
            if self.config.enforce_identify_rate:
                await conn.send_payload({"op": 9, "d": False})
                return
        self._last_identify[bucket] = now
        self.start_remaining -= 1
        conn.identified = True
        conn.shard = shard[0]
        previous = self._by_shard.get(shard[0])
        if previous is not None:  # the newer IDENTIFY wins: the shard's older session ends
            self._supersede(previous, conn, "IDENTIFY")
            previous.invalidate()
        if None in self._withhold_ready or shard[0] in self._withhold_ready:
            conn.event("out", None, "ready_withheld", None)
            return
        session = Session(session_id=self._session_id(), shard=shard, identify=d)
        self.sessions[session.session_id] = session
        self._by_shard[shard[0]] = session
        async with session.lock:
            session.connection = conn
            conn.session = session
            ready = ready_data(self.config, session, self.resume_url)
            await self._send(conn, session.ready(ready, from_zero=self.config.ready_seq_zero))
        self._notify()

    def _session_id(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    # ------------------------------------------------------------------ resume
    async def _resume(self, conn: SimConnection, d: Any) -> None:
        if conn.identified:
            await conn.close(4005, "Already authenticated.")
            return
        if not isinstance(d, dict) or not isinstance(d.get("seq"), int | None):
            await conn.close(4002, "Error while decoding payload.")
            return
        if self.token_revoked or d.get("token") != self.config.token:
            await conn.close(4004, "Authentication failed.")
            return
        if self.resumes_to_ignore > 0:
            self.resumes_to_ignore -= 1
            conn.event("in", None, "resume_ignored", None)
            return
        session = self.sessions.get(str(d.get("session_id")))
        if session is None or not session.resumable:
            await conn.send_payload({"op": 9, "d": False})
            return
        seq = d.get("seq") or 0
        if seq > session.seq:
            await conn.close(4007, "Invalid seq.")
            return
        self._supersede(session, conn, "RESUME")
        conn.identified = True
        conn.shard = session.shard_id
        async with session.lock:
            for item in session.missed_since(seq):
                await self._send(conn, item)
            await self._send(conn, session.next_dispatch("RESUMED", {}))
            session.connection = conn
            conn.session = session
        self._notify()

    def _supersede(self, session: Session, conn: SimConnection, kind: str) -> None:
        """A newer RESUME/IDENTIFY on `session`'s shard: its older open connection is closed
        (TCP aborted, as a RESUME elsewhere does on Discord) and the takeover recorded."""
        old = session.connection
        if old is None or old is conn or not old.open:
            return
        now = self.config.clock()
        idle = now - (old.last_in_at if old.last_in_at is not None else old.opened_at)
        window = self.config.live_window
        if window is None:
            window = 1.5 * self.config.heartbeat_interval_ms / 1000
        self.takeovers.append(
            Takeover(now, old.shard, old.id, conn.id, kind, live=idle <= window, idle=idle)
        )
        old.abort()

    # ------------------------------------------------------------------ dispatch
    def session_for(self, shard_id: int) -> Session | None:
        session = self._by_shard.get(shard_id)
        return session if session is not None and session.resumable else None

    async def dispatch(self, name: str, data: Any, shard_id: int = 0) -> int:
        session = self.session_for(shard_id)
        if session is None:
            raise NoSessionError(f"shard {shard_id} has no resumable session")
        async with session.lock:
            item = session.next_dispatch(name, data)
            conn = session.connection
            if conn is not None and conn.open:
                await self._send(conn, item)
        self._notify()
        return item.seq

    async def _send(self, conn: SimConnection, item: Dispatch) -> None:
        if await conn.send_dispatch(item):
            self._on_dispatch_sent(item, conn)


def _lower(headers: Headers) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.raw_items()}


__all__ = ["GatewayServer", "NoConnectionError", "NoSessionError"]
