"""One interaction on its way through the relay, and its place among pending acknowledgements."""

from __future__ import annotations

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
