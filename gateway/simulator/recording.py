"""What the simulator saw and did, with monotonic timestamps, and a way to wait for it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class GatewayEvent:
    """One thing that crossed (or broke) a gateway connection.

    direction: "in" (from the client) or "out" (to the client).
    kind: the dispatch name for op 0 ("READY", "INTERACTION_CREATE"...), the op name otherwise
    ("HELLO", "HEARTBEAT", "HEARTBEAT_ACK", "IDENTIFY", "RESUME", "PRESENCE_UPDATE",
    "RECONNECT", "INVALID_SESSION"), or a transport kind: "connect", "refused", "close"
    (payload {"code", "reason", "by"}), "drop", "garbage", "corrupt".
    """

    at: float
    shard: int | None
    connection: int
    direction: str
    op: int | None
    kind: str
    payload: Any
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Takeover:
    """A RESUME or IDENTIFY on a shard whose older connection was still open (that connection
    is closed: the newer one wins, as on Discord). `live`: the older connection's client had
    sent a frame within the live window (`SimConfig.live_window`), so two clients that both
    believed they held the shard were connected at once; `idle`: seconds since that frame."""

    at: float
    shard: int | None
    old_connection: int
    new_connection: int
    kind: str  # "RESUME" | "IDENTIFY"
    live: bool
    idle: float


@dataclass(slots=True)
class Notifier:
    """Wakes `wait_for` callers whenever something is recorded or a state changes."""

    _event: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109 (the interface tests use)
        *,
        what: str = "",
    ) -> Any:
        """Return predicate()'s first truthy value; TimeoutError (with `what`) after timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s {what}".rstrip())
            event = self._event
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                continue
