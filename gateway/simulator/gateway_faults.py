"""Fault injection on the simulator's gateway: what a test asks the server to do wrong.

GatewayServer inherits it; the state lives here, the server consults it while it serves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from http import HTTPStatus

from websockets.asyncio.server import Server

from gateway.simulator.connection import SimConnection


class NoConnectionError(LookupError):
    """A fault aimed at a shard that has no open connection."""


class GatewayFaults:
    connections: list[SimConnection]
    listening: bool
    _servers: list[Server]
    _port: int
    _notify: Callable[[], None]

    def _init_faults(self) -> None:
        self.withholding_hello = False
        self._withhold_ready: set[int | None] = set()
        self._not_acking: set[int | None] = set()
        self.refusing: HTTPStatus | None = None
        self._refuse_timer: asyncio.TimerHandle | None = None
        self._relisten: asyncio.Task[None] | None = None
        self.resumes_to_ignore = 0  # RESUMEs left to leave unanswered
        self.refusing_resume_host = False  # handshakes on the resume URL get 503
        self.required_shards: int | None = None  # set by require_shards()
        self.token_revoked = False  # set by revoke_token(): IDENTIFY and RESUME closed 4004

    async def _listen(self, port: int) -> None:
        raise NotImplementedError

    def ignore_resumes(self, count: int = 1) -> None:
        """Leave the next `count` RESUMEs unanswered (no replay, no RESUMED, no close)."""
        self.resumes_to_ignore = count

    def refuse_resume_host(self, on: bool = True) -> None:
        """Answer 503 to every handshake on the resume URL (the main URL keeps working)."""
        self.refusing_resume_host = on

    async def require_shards(self, count: int) -> int:
        """Sharding required: /gateway/bot recommends `count`, every open connection
        identified with another shard count is closed with 4011, and so is any IDENTIFY
        with fewer shards. Returns how many connections were closed."""
        self.required_shards = count
        closed = 0
        for conn in [c for c in self.connections if c.open and c.session is not None]:
            if conn.session is not None and conn.session.shard[1] != count:
                await conn.close(4011, "Sharding required.")
                closed += 1
        self._notify()
        return closed

    async def revoke_token(self, close_open: bool = True) -> int:
        """The bot token no longer works: IDENTIFY and RESUME are closed with 4004, and with
        `close_open` so is every open connection (ending its session). Returns how many were
        closed."""
        self.token_revoked = True
        closed = 0
        if close_open:
            for conn in [c for c in self.connections if c.open]:
                await conn.close(4004, "Authentication failed.")
                closed += 1
        self._notify()
        return closed

    def targets(self, shard_id: int | None) -> list[SimConnection]:
        """The open connection of `shard_id` (the newest), or every open one for None."""
        open_conns = [c for c in self.connections if c.open]
        if shard_id is None:
            found = open_conns
        else:
            found = [c for c in open_conns if c.shard == shard_id][-1:]
        if not found:
            raise NoConnectionError(f"no open gateway connection for shard {shard_id}")
        return found

    def withhold_hello(self, on: bool = True) -> None:
        self.withholding_hello = on

    def withhold_ready(self, on: bool = True, shard_id: int | None = None) -> None:
        (self._withhold_ready.add if on else self._withhold_ready.discard)(shard_id)

    def stop_acking(self, on: bool = True, shard_id: int | None = None) -> None:
        (self._not_acking.add if on else self._not_acking.discard)(shard_id)

    def refuse_connections(
        self,
        seconds: float | None = None,
        status: HTTPStatus = HTTPStatus.SERVICE_UNAVAILABLE,
        *,
        tcp: bool = False,
    ) -> None:
        """Answer handshakes with `status`, or with tcp=True stop listening altogether (the
        client gets ECONNREFUSED; open connections stay). Until accept_connections() or for
        `seconds`."""
        if tcp:
            if self.listening:
                self.listening = False
                self._servers[-1].server.close()
        else:
            self.refusing = status
        if self._refuse_timer is not None:
            self._refuse_timer.cancel()
            self._refuse_timer = None
        if seconds is not None:
            loop = asyncio.get_running_loop()
            self._refuse_timer = loop.call_later(seconds, self.accept_connections)

    def accept_connections(self) -> None:
        """Accept again; after a tcp refusal the port is listened on again in a moment
        (wait for `listening`)."""
        self.refusing = None
        if self._refuse_timer is not None:
            self._refuse_timer.cancel()
            self._refuse_timer = None
        if not self.listening and (self._relisten is None or self._relisten.done()):
            self._relisten = asyncio.get_running_loop().create_task(self._listen(self._port))
        self._notify()
