"""Interactions the simulator sent, and what came back for each (callbacks, ack latency)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.simulator.secret_watch import announce
from gateway.simulator.snowflake import snowflake_time

#: Discord's window for the first response, from the interaction's creation.
ACK_WINDOW = 3.0


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
    # Discord's unix times (the simulator's wall clock) of each write of its INTERACTION_CREATE
    # to a socket (a RESUME replays it), of each callback try's arrival, and of each forward
    # the main app got (noted by the harness: `DiscordSimulator.note_forward`).
    written_at: list[float] = field(default_factory=list)
    callback_at: list[float] = field(default_factory=list)
    forwarded_at: list[float] = field(default_factory=list)

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
    def created_at(self) -> float:
        """Discord's unix time of its creation (the id's snowflake)."""
        return snowflake_time(self.id)

    @property
    def stale_on_arrival(self) -> bool:
        """Written to the client only after its 3 s had run out (replayed after an outage):
        it must be neither acknowledged nor forwarded (CONTRACT step 1)."""
        return bool(self.written_at) and min(self.written_at) - self.created_at > ACK_WINDOW

    @property
    def answered_stale(self) -> bool:
        """Stale on arrival, yet a callback came or the main app got a forward."""
        return self.stale_on_arrival and bool(self.callback_at or self.forwarded_at)

    @property
    def late_callbacks(self) -> int:
        """Callback tries that reached Discord after the 3 s (Discord refuses them: 10062)."""
        return sum(1 for at in self.callback_at if at - self.created_at > ACK_WINDOW)

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

    def mark_sent(
        self, interaction_id: str, seq: int, at: float, wall: float | None = None
    ) -> None:
        """Its INTERACTION_CREATE written to a socket at `at` (monotonic), `wall` (unix)."""
        record = self.by_id.get(interaction_id)
        if record is None:
            return
        if wall is not None:
            record.written_at.append(wall)
        if record.sent_at is None:
            record.sent_at = at
            record.seq = seq

    @property
    def ack_latencies(self) -> list[float]:
        return [r.ack_latency for r in self.by_id.values() if r.ack_latency is not None]
