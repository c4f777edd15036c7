"""Plain-Python stats of the REST client (no prometheus objects).

`asgi_app/metrics.py` reads `snapshot()` of these at scrape time and turns them into metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RestStats:
    """What the Discord REST client counts."""

    requests: int = 0  # HTTP requests sent (each retry counts)
    responses: dict[int, int] = field(default_factory=dict)  # by status code
    rate_limited: int = 0  # 429 answers
    global_rate_limited: int = 0  # 429 answers with the global flag
    bucket_waits: int = 0  # times a request waited for its bucket to reset
    global_waits: int = 0  # times a request waited for the global limit
    retries: int = 0  # 5xx / connection-error retries
    connection_errors: int = 0
    refused: int = 0  # requests refused locally (invalid-request budget, failed token)

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "responses": dict(self.responses),
            "rate_limited": self.rate_limited,
            "global_rate_limited": self.global_rate_limited,
            "bucket_waits": self.bucket_waits,
            "global_waits": self.global_waits,
            "retries": self.retries,
            "connection_errors": self.connection_errors,
            "refused": self.refused,
        }
