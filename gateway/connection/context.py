"""What every shard of one gateway shares (`ShardContext`), built once and injected, and what
a shard is handed besides: the dispatch and status callbacks, the lease it may be held by."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from gateway.clock import SYSTEM_CLOCKS, Clocks, Sleep
from gateway.connection.budget import IdentifyBudget
from gateway.connection.limiter import IdentifyGate
from gateway.connection.protocol import Compression, ShardStatus
from gateway.connection.timings import ShardTimings

if TYPE_CHECKING:
    from gateway.connection.shard import Shard

DEFAULT_TIMINGS: Final = ShardTimings()
Dispatch = Callable[[str, Any, "Shard"], None]  # (event name, data, the shard it came on)
StatusCallback = Callable[["Shard", ShardStatus], None]


class Fence(Protocol):
    """A shard lease (SHARD_IDS=auto, lease.py): `valid()` before every send (a local
    deadline), `confirm()` in Redis before every IDENTIFY and RESUME."""

    def valid(self) -> bool: ...

    async def confirm(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ShardContext:
    """What every shard of one gateway shares, built once and handed to each `Shard`.

    `clocks` drive reconnect waits, throttles and the send limiter (a fake clock makes backoff
    tests instant); heartbeats run on the event loop's own clock with `heartbeat_sleep`, since
    they must track real time. No `identify_gate`: each shard throttles its own identifies.
    """

    token: str = field(repr=False)
    intents: int
    gateway_url: Callable[[], str]  # /gateway/bot's URL
    compression: Compression = "zlib-stream"
    dispatch: Dispatch | None = None
    on_status: StatusCallback | None = None
    identify_gate: IdentifyGate | None = None
    identify_budget: IdentifyBudget | None = None
    timings: ShardTimings = DEFAULT_TIMINGS
    clocks: Clocks = SYSTEM_CLOCKS
    heartbeat_sleep: Sleep = asyncio.sleep
