"""One connection attempt of a shard and the one outcome that ends it.

Each attempt gets a fresh `Connection` (generation id, transport, send limiter, tasks).
Whoever decides how the connection ends (receive loop, heartbeat, timeouts, stop()) sets its
outcome once, in the vocabulary of the close table (`CloseAction`); the shard then cancels and
awaits the connection's tasks and closes the socket before it does anything else.
The protocol fields (stage, accepting, gaps, the heartbeat's) are the shard's `ShardState`'s
to read and set (state_machine.py); the transport, tasks and limiter are the `Shard`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from gateway.connection.limiter import SendLimiter
from gateway.connection.protocol import CLOSE_RESUMABLE, CloseAction
from gateway.connection.transport import GatewayTransport


@dataclass(frozen=True, slots=True)
class Outcome:
    action: CloseAction
    reason: str
    close_code: int | None = None  # the server's close code, when there was one
    delay: float | None = None  # explicit wait before the next attempt (op 9 d=false)
    send_code: int = CLOSE_RESUMABLE  # what we close with, if the socket is still open


class Signal(Exception):  # internal control flow, never escapes the shard
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


class Connection:
    __slots__ = (
        "accepting",
        "awaiting_ack",
        "driver",
        "feed",
        "gaps",
        "generation",
        "heartbeat_sent_at",
        "limiter",
        "live",
        "outcome",
        "ready_deadline",
        "resume_host",
        "stage",
        "tasks",
        "transport",
    )

    def __init__(self, generation: int, transport: GatewayTransport, limiter: SendLimiter) -> None:
        self.generation = generation
        self.transport = transport
        self.feed = transport.feed
        self.limiter = limiter
        self.outcome: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self.driver: asyncio.Task[None] | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.awaiting_ack = False
        self.accepting = False  # dispatches take the fast path: after READY or RESUMED
        self.gaps = 0  # dispatches in a row dropped for a sequence gap
        self.heartbeat_sent_at = 0.0
        self.ready_deadline: asyncio.Timeout | None = None
        self.stage = "connect"
        self.resume_host = False  # connecting to resume_gateway_url
        self.live = True  # False once torn down: a late message of it changes nothing

    def finish(self, outcome: Outcome) -> None:
        if not self.outcome.done():
            self.outcome.set_result(outcome)

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
