"""One interaction on its way through the relay, and its place among pending acknowledgements."""

from __future__ import annotations

import asyncio
from collections import deque
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
    """The interactions received whose first response is not yet sent (`due` ... `settle()`;
    `Acknowledger.send` settles once the responder is done: for a callback, Discord's answer
    read), and the forwards waiting to start (`wait`).

    On one event loop whatever runs in a turn of the loop delays what comes after it, and a
    forward's start is the heaviest step of the relay (its signatures, its request, often a new
    connection). So forwards start in the order they asked, none while an acknowledgement is
    still to be sent, and at most PER_TURN in a turn of the loop: the turn after, the
    loop has read its sockets again, and an interaction received meanwhile goes first. A forward
    that has waited `max_hold` s starts even while acknowledgements are due (still at most
    PER_TURN a turn): forwards are never held for longer.
    """

    #: Forwards started in one turn of the event loop, at most.
    PER_TURN = 8

    __slots__ = ("_armed", "_count", "_timer", "_waiters")

    def __init__(self) -> None:
        self._count = 0
        self._waiters: deque[tuple[float, asyncio.Future[None]]] = deque()
        self._armed = False  # a pass is due in the next turn of the loop
        self._timer: asyncio.TimerHandle | None = None  # the oldest waiter's hold running out

    @property
    def count(self) -> int:
        """Acknowledgements due now (received, not yet sent)."""
        return self._count

    @property
    def idle(self) -> bool:
        """None due: a forward would start in the next turn of the loop."""
        return not self._count

    @property
    def waiting(self) -> int:
        """Forwards waiting to start."""
        return sum(1 for _deadline, future in self._waiters if not future.done())

    def due(self, owed: bool) -> AckDue:
        """An interaction's place: counted from now when `owed`, until its `settle()`."""
        if owed:
            self._count += 1
        return AckDue(owed, self._settled)

    def _settled(self) -> None:
        self._count -= 1
        if not self._count and self._waiters:
            self._arm()

    async def wait(self, max_hold: float) -> None:
        """Until this forward may start: a later turn of the loop in which no acknowledgement
        is due (or `max_hold` s from now), among the first PER_TURN of that turn."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        deadline = loop.time() + max_hold
        self._waiters.append((deadline, future))
        if not self._count:
            self._arm()
        elif self._timer is None:
            self._timer = loop.call_at(deadline, self._hold_over)
        await future  # cancelled: the pass skips it

    def _arm(self) -> None:
        if not self._armed:
            self._armed = True
            asyncio.get_running_loop().call_soon(self._release)

    def _hold_over(self) -> None:
        self._timer = None
        self._arm()

    def _release(self) -> None:
        """One turn's pass: start the forwards that may go, at most PER_TURN."""
        self._armed = False
        loop = asyncio.get_running_loop()
        now = loop.time()
        waiters = self._waiters
        started = 0
        while waiters and started < self.PER_TURN:
            deadline, future = waiters[0]
            if future.done():  # its task was cancelled while it waited
                waiters.popleft()
                continue
            if self._count and deadline > now:
                break  # acknowledgements to send first
            waiters.popleft()
            future.set_result(None)
            started += 1
        if not waiters:
            return
        if not self._count or waiters[0][0] <= now:
            self._arm()  # more go in the next turn
        elif self._timer is None:
            self._timer = loop.call_at(waiters[0][0], self._hold_over)


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
