"""The lanes' batches to the main app (CONTRACT "Delivery", "Answers"): one lane's batch,
retried until a 2xx or a dead letter (`batch`), and a shared POST of several lanes' parts,
tried once (`shared`; lanes.py says what happens when it fails). On a 2xx the events are
counted and forgotten (journaling.py); the events whose shard another node holds now are left
to it (shards.py).
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.clock import Clock
from gateway.delivery.sender import Outcome, Report, SignedSender, retry_after_seconds
from gateway.events.journaling import Journaling
from gateway.events.model import Event, batch_id
from gateway.events.shards import ShardEvents
from gateway.events.stats import EventStats

#: A batch the sender gave up on: its events (each a dead letter), the report, their shards.
Died = Callable[[list[Event], Report, dict[str, int]], None]


class Deliveries:
    def __init__(
        self,
        sender: SignedSender,
        url: str,
        *,
        stats: EventStats,
        shards: ShardEvents,
        journaling: Journaling,
        died: Died,
        wall: Clock,
    ) -> None:
        self.sender = sender
        self.url = url
        self._stats = stats
        self._shards = shards
        self._journaling = journaling
        self._died = died
        self._wall = wall

    async def batch(self, batch: list[Event]) -> None:
        """A lane's batch, retried until delivered or dead."""
        sent = await self._post(batch)
        if sent is None or sent[1].outcome is Outcome.DELIVERED:
            return
        batch, report = sent
        ids = [event.id for event in batch]
        self._journaling.keep(ids)  # an add not written yet goes with the dead letter's put
        self._died(batch, report, self._shards.done(ids))

    async def shared(self, parts: list[list[Event]]) -> float | None:
        """Several lanes' parts in one POST, one attempt (lanes.py, "Shared POSTs"): None when
        delivered, else how long the parts wait before each goes alone (a 429's or 503's
        Retry-After, else 0)."""
        sent = await self._post([event for part in parts for event in part], attempts=1)
        if sent is None:
            return None
        self._stats.shared_posts += 1
        answer = sent[1].answer
        if sent[1].outcome is Outcome.DELIVERED:
            return None
        self._stats.shared_split += 1
        if answer is None or answer.status not in (429, 503):
            return 0.0
        return retry_after_seconds(answer.headers.get("retry-after"), self._wall())

    async def _post(
        self, batch: list[Event], attempts: int | None = None
    ) -> tuple[list[Event], Report] | None:
        """POST `batch`, less the events whose shard another node holds now (None: nothing
        left), and take it as delivered on a 2xx."""
        if gone := self._shards.elsewhere(batch):
            batch = [e for e in batch if e not in gone]
            if not batch:
                return None
        body = b'{"events":[' + b",".join(e.body for e in batch) + b"]}"
        ids = [e.id for e in batch]
        since = min(e.received_at for e in batch) / 1000
        report = await self.sender.send(
            self.url, batch_id(ids), lambda now: body, since=since, attempts=attempts
        )
        if report.outcome is Outcome.DELIVERED:
            stats = self._stats
            now_ms = self._wall() * 1000
            for event in batch:
                stats.count(stats.delivered, event.type)
                stats.latency.observe(max(0.0, now_ms - event.received_at) / 1000)
            self._journaling.forget(batch, self._shards.done(ids))
        return batch, report
