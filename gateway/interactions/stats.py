"""Plain-Python stats of the interaction relay (no prometheus objects).

`asgi_app/metrics.py` reads `snapshot()` of these at scrape time and turns them into metrics.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gateway.delivery.sender import SenderStats
from gateway.interactions.admission import Drop
from gateway.interactions.responder import AckOutcome

#: Upper bounds (seconds) of the acknowledgement-latency histogram; +Inf is implicit.
ACK_LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.0,
    2.5,
    3.0,
    5.0,
)


class Histogram:
    """A fixed-bucket histogram (Prometheus semantics: cumulative counts per upper bound)."""

    __slots__ = ("_counts", "bounds", "count", "sum")

    def __init__(self, bounds: Sequence[float] = ACK_LATENCY_BUCKETS) -> None:
        self.bounds: tuple[float, ...] = tuple(sorted(bounds))
        self._counts = [0] * (len(self.bounds) + 1)  # last slot: above every bound (+Inf)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self._counts[bisect.bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.sum += value

    def cumulative(self) -> list[tuple[float, int]]:
        """[(upper bound, observations <= bound)], ending with (inf, count)."""
        out: list[tuple[float, int]] = []
        running = 0
        for bound, n in zip((*self.bounds, float("inf")), self._counts, strict=True):
            running += n
            out.append((bound, running))
        return out

    def snapshot(self) -> dict[str, Any]:
        return {"buckets": self.cumulative(), "count": self.count, "sum": self.sum}


class RelayResult(StrEnum):
    """How an interaction's way through the relay ended: what `relay.submit()`'s task returns,
    the key of `RelayStats.forwards`, the `outcome` label of `interaction_forwards`."""

    OK = "ok"  # forwarded, answered 2xx at the first attempt
    RETRIED_OK = "retried_ok"  # the same, after retries
    FAILED = "failed"  # the forward failed, or the main app's answer was invalid
    IGNORED = "ignored"  # not ours: another application's, a type with no forward path
    COOLDOWN = "cooldown"  # a click within the message's cooldown
    DROPPED = "dropped"  # by admission (too old, a replay): nothing sent
    NOT_ACKNOWLEDGED = "not_acknowledged"  # its first response failed in defer mode

    @classmethod
    def forwarded(cls, retried: bool) -> RelayResult:
        return cls.RETRIED_OK if retried else cls.OK


FORWARD_OUTCOMES: tuple[str, ...] = tuple(result.value for result in RelayResult)
#: What became of first responses (AckOutcome values).
ACK_OUTCOMES: tuple[str, ...] = tuple(outcome.value for outcome in AckOutcome)
ADMISSION_DROPS: tuple[str, ...] = (Drop.TOO_OLD.value, Drop.REPLAY.value)
#: The main app's interaction responses: sent as the first response, delivered late, invalid.
ANSWER_OUTCOMES: tuple[str, ...] = ("first_response", "late", "invalid")


@dataclass
class RelayStats:
    """What the interaction relay counts."""

    ack_latency: Histogram = field(default_factory=Histogram)
    forwards: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FORWARD_OUTCOMES, 0))
    #: the forwards' sender's counts (gateway/delivery/sender.py): retries, slots waited for
    forward_sender: SenderStats = field(default_factory=SenderStats)
    user_errors: int = 0  # error messages shown to Discord users
    ack_failures: int = 0  # acknowledgements Discord did not take
    in_flight: int = 0
    ack_outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACK_OUTCOMES, 0))
    admission: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ADMISSION_DROPS, 0))
    answers: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ANSWER_OUTCOMES, 0))

    @property
    def retries(self) -> int:
        """Forward attempts made again."""
        return self.forward_sender.retries

    @property
    def forwards_waiting(self) -> int:
        """Forwards waiting for an in-flight slot (FORWARD_MAX_IN_FLIGHT)."""
        return self.forward_sender.waiting

    def snapshot(self) -> dict[str, Any]:
        return {
            "ack_latency_seconds": self.ack_latency.snapshot(),
            "forwards": dict(self.forwards),
            "retries": self.retries,
            "user_errors": self.user_errors,
            "ack_failures": self.ack_failures,
            "in_flight": self.in_flight,
            "forwards_waiting": self.forwards_waiting,
            "ack_outcomes": dict(self.ack_outcomes),
            "admission": dict(self.admission),
            "answers": dict(self.answers),
        }
