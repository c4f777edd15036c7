"""Interactions the simulator sent, and what came back for each (callbacks, ack latency)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.simulator.secret_watch import announce


@dataclass(eq=False)
class InteractionRecord:
    interaction: dict[str, Any]
    shard_id: int
    seq: int | None = None
    sent_at: float | None = None  # when INTERACTION_CREATE was first written to a socket
    acked_at: float | None = None
    ack_type: int | None = None
    ack_body: dict[str, Any] | None = None  # the callback Discord took
    callbacks: list[Any] = field(default_factory=list)  # RestRequest of every callback try

    @property
    def id(self) -> str:
        return str(self.interaction["id"])

    @property
    def token(self) -> str:
        return str(self.interaction["token"])

    @property
    def type(self) -> int:
        return int(self.interaction.get("type", 2))

    @property
    def ack_latency(self) -> float | None:
        """Seconds from the INTERACTION_CREATE being sent to the first accepted callback."""
        if self.acked_at is None or self.sent_at is None:
            return None
        return self.acked_at - self.sent_at


class InteractionLog:
    def __init__(self) -> None:
        self.by_id: dict[str, InteractionRecord] = {}
        self._by_token: dict[str, InteractionRecord] = {}

    def add(self, record: InteractionRecord) -> None:
        announce(record.token)
        self.by_id[record.id] = record
        self._by_token[record.token] = record

    def get(self, interaction_id: str) -> InteractionRecord | None:
        return self.by_id.get(interaction_id)

    def by_token(self, token: str) -> InteractionRecord | None:
        return self._by_token.get(token)

    def mark_sent(self, interaction_id: str, seq: int, at: float) -> None:
        record = self.by_id.get(interaction_id)
        if record is not None and record.sent_at is None:
            record.sent_at = at
            record.seq = seq

    @property
    def ack_latencies(self) -> list[float]:
        return [r.ack_latency for r in self.by_id.values() if r.ack_latency is not None]
