"""What the framework counts about the HTTP answers it gives (plain Python; the app's
metrics read it at scrape time)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class HttpStats:
    """Requests answered, by status code (read by /metrics and /analytics/internal)."""

    by_status: dict[int, int] = field(default_factory=dict)

    def count(self, status: int) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.by_status.values())
