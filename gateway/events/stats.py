"""Plain-Python stats of the events (asgi_app/metrics.py names them as metrics)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.interactions.stats import Histogram

#: Upper bounds (seconds) of the delivery-latency histogram (received -> the main app's 2xx).
LATENCY_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    3600.0,
)


@dataclass
class EventStats:
    received: dict[str, int] = field(default_factory=dict)  # by event type
    delivered: dict[str, int] = field(default_factory=dict)
    dead: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)  # replays already journaled
    filtered: int = 0  # dispatches a filter left out
    shared_posts: int = 0  # POSTs carrying several lanes' parts (lanes.py)
    shared_split: int = 0  # of them, failed: each part sent again alone
    latency: Histogram = field(default_factory=lambda: Histogram(LATENCY_BUCKETS))

    @staticmethod
    def count(counts: dict[str, int], event_type: str, n: int = 1) -> None:
        counts[event_type] = counts.get(event_type, 0) + n

    def snapshot(self) -> dict[str, Any]:
        return {
            "received": dict(self.received),
            "delivered": dict(self.delivered),
            "dead": dict(self.dead),
            "dropped": dict(self.dropped),
            "duplicates": dict(self.duplicates),
            "filtered": self.filtered,
            "shared_posts": self.shared_posts,
            "shared_split": self.shared_split,
            "latency_seconds": self.latency.snapshot(),
        }
