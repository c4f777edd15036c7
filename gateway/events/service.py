"""EventService: gateway dispatches and Webhook Events in, journaled, through the lanes, to the
main app as signed batches (CONTRACT "Gateway events for the main app").

The path of a gateway event:
1. `on_dispatch(name, data, shard)`, called inline by the gateway's dispatcher (no task in
   between) for each name in EVENT_FORWARDS: the filter; a dispatch at or below its
   session's mark is a replay already journaled (dropped, counted as a duplicate); else an
   `Event` with its id, submitted to the journal (model.py, store.py).
2. The journal writes it (group commit) and hands it to the lanes once durable; the gateway's
   session checkpoint awaits `barrier()` first, so the sequence number saved never runs ahead
   of what is journaled: after a SIGKILL, what was journaled is delivered by the next start
   and the resume replays the rest.
3. A lane delivers it in a batch through the shared `SignedSender` (gateway/delivery/); 2xx:
   forgotten; a dead letter (4xx other than 408/429 at once, or EVENTS_RETRY_HOURS of
   retries): kept, listed by `dead_letters()`, queued again by `replay()`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.delivery.sender import Outcome, SignedSender
from gateway.events.filters import Forwards, guild_of
from gateway.events.lanes import Lanes
from gateway.events.model import (
    GATEWAY,
    WEBHOOK,
    Event,
    batch_id,
    gateway_event_id,
    webhook_event_id,
)
from gateway.events.model import session_key as make_session_key
from gateway.events.stats import EventStats
from gateway.events.store import MARK_KEEP, WEBHOOK_KEEP, Change, EventStore, Journal

log = logging.getLogger("gateway.events")

#: /health is degraded while the oldest pending event is older than this (s), or a drop was
#: this recent.
STALE_AFTER = 300.0
PRUNE_EVERY = 600.0
#: At most one audit line about drops per this many seconds.
NOTICE_EVERY = 60.0


class ShardLike(Protocol):
    """What an event needs of the shard it came on (gateway.connection.shard.Shard)."""

    shard_id: int
    session_id: str | None
    seq: int | None


class Dispatches(Protocol):
    """Where dispatches come from (gateway.connection.manager.GatewayManager)."""

    def on_inline(self, event: str, handler: Callable[[Any, Any], None]) -> Any: ...


@dataclass
class _Marks:
    """Per gateway session: its key and the highest seq journaled."""

    keys: dict[str, str] = field(default_factory=dict)  # session id -> key
    seqs: dict[str, tuple[int, float]] = field(default_factory=dict)  # key -> (seq, at)

    def key(self, session_id: str) -> str:
        key = self.keys.get(session_id)
        if key is None:
            key = self.keys[session_id] = make_session_key(session_id)
        return key


class EventService:
    def __init__(
        self,
        store: EventStore,
        sender: SignedSender,
        url: str,
        forwards: Forwards,
        *,
        batch_max: int = 1,
        batch_wait_ms: int = 0,
        max_pending: int = 100_000,
        wall_clock: Callable[[], float] = time.time,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.sender = sender
        self.url = url
        self.forwards = forwards
        self.max_pending = max_pending
        self._wall = wall_clock
        self._notice = notice
        self.journal = Journal(store, self._durable)
        self.lanes = Lanes(
            self._deliver,
            batch_max=batch_max,
            batch_wait=batch_wait_ms / 1000,
            wall_clock=wall_clock,
        )
        self.stats = EventStats()
        self.dead: dict[str, Event] = {}
        self.bot_user_id: str | None = None
        self._marks = _Marks()
        self._webhooks: dict[str, float] = {}
        self._n = 0
        self._unwritten = 0  # events submitted, not yet durable
        self._last_drop: float | None = None
        self._last_notice = 0.0
        self._pruner: asyncio.Task[None] | None = None
        self.started = False

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the journal: the pending events go to their lanes (in arrival order), the dead
        letters are listed, the marks dedupe what a resume replays."""
        contents = await self.journal.store.load()
        self._marks.seqs = dict(contents.marks)
        self._webhooks = dict(contents.webhooks)
        pending = [e for e in contents.events if not e.dead]
        self.dead = {e.id: e for e in contents.events if e.dead}
        self._n = max((e.n for e in contents.events), default=0)
        if pending:
            log.warning("events: %d pending from the last run, delivered again", len(pending))
        self.lanes.push(pending)
        self.started = True
        self._pruner = asyncio.get_running_loop().create_task(self._prune(), name="events-prune")

    async def stop(self, grace: float = 2.0) -> None:
        if self._pruner is not None:
            self._pruner.cancel()
            await asyncio.gather(self._pruner, return_exceptions=True)
        await self.lanes.stop(grace, lambda: self.sender.stats.in_flight == 0)
        await self.journal.aclose()
        await self.sender.poster.aclose()

    async def barrier(self) -> None:
        """Return once every event received so far is journaled (before a checkpoint)."""
        await self.journal.flush()

    # -- intake ---------------------------------------------------------------------------
    def on_ready(self, data: Any, shard: Any = None) -> None:
        """READY: this bot's user id (the `bots` filter also skips this bot's own events)."""
        user = data.get("user") if isinstance(data, dict) else None
        if isinstance(user, dict) and user.get("id") is not None:
            self.bot_user_id = str(user["id"])

    def attach(self, gateway: Dispatches) -> None:
        """Handle each forwarded dispatch inline in the gateway's dispatch loop (and READY)."""
        gateway.on_inline("READY", self.on_ready)
        for name in self.forwards.filters:
            gateway.on_inline(name, self.handler(name))

    def handler(self, name: str) -> Callable[[Any, ShardLike], None]:
        """The inline dispatch handler for the event `name`."""

        def handle(data: Any, shard: ShardLike) -> None:
            self.on_dispatch(name, data, shard)

        return handle

    def on_dispatch(self, name: str, data: Any, shard: ShardLike) -> None:
        rule = self.forwards.filters.get(name)
        if rule is None or not isinstance(data, dict):
            return
        if not rule.passes(name, data, self.bot_user_id):
            self.stats.filtered += 1
            return
        session_id, seq = shard.session_id, shard.seq
        if session_id is None or seq is None:
            return
        key = self._marks.key(session_id)
        mark = self._marks.seqs.get(key)
        if mark is not None and seq <= mark[0]:
            self.stats.count(self.stats.duplicates, name)  # a replay already journaled
            return
        now = self._wall()
        self._marks.seqs[key] = (seq, now)
        event = Event.make(
            gateway_event_id(key, seq),
            name,
            GATEWAY,
            shard.shard_id,
            guild_of(name, data),
            int(now * 1000),
            data,
        )
        self._admit(event, Change(add=[event], marks={key: (seq, now)}))

    def submit_webhook(self, body: Any) -> Event | None:
        """A Webhook Event (`"type": 1`) as an event with source "webhook"; None when Discord
        sent it before (already journaled) or it is not an event."""
        wrapped = body.get("event") if isinstance(body, dict) else None
        if not isinstance(wrapped, dict) or not isinstance(wrapped.get("type"), str):
            return None
        event_id = webhook_event_id(wrapped)
        if event_id in self._webhooks:
            self.stats.count(self.stats.duplicates, wrapped["type"])
            return None
        now = self._wall()
        self._webhooks[event_id] = now
        data = wrapped.get("data")
        event = Event.make(
            event_id,
            wrapped["type"],
            WEBHOOK,
            None,
            guild_of(wrapped["type"], data),
            int(now * 1000),
            data,
        )
        self._admit(event, Change(add=[event], webhooks={event_id: now}))
        return event

    def _admit(self, event: Event, change: Change) -> None:
        self._n += 1
        event.n = self._n
        self.stats.count(self.stats.received, event.type)
        self._unwritten += 1
        self.journal.submit(change)
        while self.pending > self.max_pending and self._drop_oldest():
            pass

    def _durable(self, events: list[Event]) -> None:
        self._unwritten -= len(events)
        self.lanes.push(events)

    # -- the backlog bound ------------------------------------------------------------------
    @property
    def pending(self) -> int:
        return self.lanes.pending + self._unwritten

    def _drop_oldest(self) -> bool:
        event = self.lanes.drop_oldest()
        if event is not None:
            self.journal.submit(Change(remove=[event.id]))
        else:
            event = self.journal.oldest_unwritten()
            if event is None or not self.journal.drop_unwritten(event):
                return False
            self._unwritten -= 1
        self.stats.count(self.stats.dropped, event.type)
        now = self._wall()
        self._last_drop = now
        total = sum(self.stats.dropped.values())
        if total == 1 or total % 1000 == 0:
            log.warning(
                "events: backlog over EVENTS_MAX_PENDING (%d): oldest dropped, %d so far",
                self.max_pending,
                total,
            )
        if self._notice is not None and now - self._last_notice >= NOTICE_EVERY:
            self._last_notice = now
            self._notice(
                f"events backlog over EVENTS_MAX_PENDING ({self.max_pending}): "
                f"the oldest are dropped ({total} so far)"
            )
        return True

    # -- delivery ---------------------------------------------------------------------------
    async def _deliver(self, batch: list[Event]) -> None:
        body = b'{"events":[' + b",".join(e.body for e in batch) + b"]}"
        ids = [e.id for e in batch]
        since = min(e.received_at for e in batch) / 1000
        report = await self.sender.send(self.url, batch_id(ids), lambda now: body, since=since)
        stats = self.stats
        if report.outcome is Outcome.DELIVERED:
            now_ms = self._wall() * 1000
            for event in batch:
                stats.count(stats.delivered, event.type)
                stats.latency.observe(max(0.0, now_ms - event.received_at) / 1000)
            self.journal.submit(Change(remove=ids))
            return
        for event in batch:
            stats.count(stats.dead, event.type)
            event.dead = True
            event.attempts = report.attempts
            event.status = report.status
            event.problem = report.problem
            event.first_attempt = int(report.first_at * 1000)
            event.last_attempt = int(report.last_at * 1000)
            self.dead[event.id] = event
        self.journal.submit(Change(put=list(batch)))
        self._bound_dead()

    def _bound_dead(self) -> None:
        """Dead letters are kept up to EVENTS_MAX_PENDING too: past it, the oldest go."""
        over = len(self.dead) - self.max_pending
        if over <= 0:
            return
        oldest = sorted(self.dead.values(), key=lambda e: e.n)[:over]
        for event in oldest:
            del self.dead[event.id]
            self.stats.count(self.stats.dropped, event.type)
        self.journal.submit(Change(remove=[e.id for e in oldest]))

    # -- dead letters -----------------------------------------------------------------------
    def dead_letters(self) -> list[dict[str, Any]]:
        return [e.dead_view() for e in sorted(self.dead.values(), key=lambda e: e.n)]

    def _chosen(self, ids: list[str] | None) -> list[Event]:
        chosen = self.dead.values() if ids is None else (self.dead.get(i) for i in ids)
        return sorted((e for e in chosen if e is not None), key=lambda e: e.n)

    def replay(self, ids: list[str] | None = None) -> int:
        """Queue dead letters again (all of them with None), in their arrival order."""
        events = self._chosen(ids)
        for event in events:
            del self.dead[event.id]
            event.dead = False
            event.attempts, event.status, event.problem = 0, None, None
            event.first_attempt = event.last_attempt = None
            event.received_at = int(self._wall() * 1000)  # a new retry clock
        if events:
            self.journal.submit(Change(put=list(events)))
            self.lanes.push(events)
        return len(events)

    def forget(self, ids: list[str] | None = None) -> int:
        events = self._chosen(ids)
        for event in events:
            del self.dead[event.id]
        if events:
            self.journal.submit(Change(remove=[e.id for e in events]))
        return len(events)

    # -- health ---------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        now = self._wall()
        oldest = self.lanes.oldest_received()
        age = None if oldest is None else round(max(0.0, now - oldest / 1000), 3)
        recent_drop = self._last_drop is not None and now - self._last_drop < STALE_AFTER
        stale = age is not None and age > STALE_AFTER
        return {
            "ok": self.started and not stale and not recent_drop and not self.journal.failing,
            "pending": self.pending,
            "oldest_pending_age_s": age,
            "dead_letters": len(self.dead),
            "dropped": sum(self.stats.dropped.values()),
            "journal_failing": self.journal.failing,
        }

    async def _prune(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY)
            now = self._wall()
            self._webhooks = {k: t for k, t in self._webhooks.items() if now - t < WEBHOOK_KEEP}
            seqs = self._marks.seqs
            self._marks.seqs = {k: v for k, v in seqs.items() if now - v[1] < MARK_KEEP}
            live = set(self._marks.seqs)
            self._marks.keys = {s: k for s, k in self._marks.keys.items() if k in live}
            self.journal.submit(Change(prune_before=now - max(WEBHOOK_KEEP, MARK_KEEP)))
