"""One interaction on its way through the relay, and its place among pending acknowledgements."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.interactions.model import Interaction
from gateway.interactions.policy import Mode
from gateway.interactions.responder import FirstResponder


class AckDue:
    """An interaction counted among the relay's pending acknowledgements until `settle()`."""

    __slots__ = ("_settled", "open")

    def __init__(self, open_: bool, settled: Callable[[], None]) -> None:
        self.open = open_
        self._settled = settled

    def settle(self) -> None:
        if self.open:
            self.open = False
            self._settled()


class PendingAcks:
    """The interactions received and not yet acknowledged. Forwards wait for them (`wait`): on
    one event loop a forward's CPU would otherwise delay the acknowledgements received after
    it."""

    __slots__ = ("_count", "_idle")

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def count(self) -> int:
        """Acknowledgements pending now."""
        return self._count

    @property
    def idle(self) -> bool:
        """None pending: a forward would not wait."""
        return self._idle.is_set()

    def due(self, owed: bool) -> AckDue:
        """An interaction's place: counted from now when `owed`, until its `settle()`."""
        if owed:
            self._count += 1
            self._idle.clear()
        return AckDue(owed, self._settled)

    def _settled(self) -> None:
        self._count -= 1
        if not self._count:
            self._idle.set()

    async def wait(self, max_hold: float) -> None:
        """Until none is pending, for at most `max_hold` s."""
        if self._count:
            try:
                async with asyncio.timeout(max_hold):
                    await self._idle.wait()
            except TimeoutError:
                pass


@dataclass(slots=True)
class Job:
    interaction: Interaction
    mode: Mode
    responder: FirstResponder
    received: float  # monotonic, on arrival
    ack_deadline: float  # monotonic: 3 s after its creation by Discord's clock
    due: AckDue
    first: int | None = None  # the callback type of the first response, once Discord took it
    headers: dict[str, str] = field(default_factory=dict)  # X-Response-Mode etc.
