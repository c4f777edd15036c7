"""EventService: gateway dispatches and Webhook Events in, journaled, through the lanes, to the
main app as signed batches (CONTRACT "Gateway events for the main app").

The path of a gateway event:
1. `on_dispatch(name, data, shard)`, called inline by the gateway's dispatcher (no task in
   between) for each name in EVENT_FORWARDS: the filter; a dispatch at or below its
   session's mark is a replay already journaled (dropped, counted as a duplicate); else an
   `Event` with its id, submitted to the journal (model.py; the store: gateway/journal/events.py).
2. It goes to its lane at once, and to the journal (group commit, MIN_INTERVAL apart); the
   gateway's session checkpoint awaits `barrier()` first, so the sequence number saved never
   runs ahead of what is journaled: after a SIGKILL, what was journaled is delivered by the
   next start and the resume replays the rest. An event the main app took before its
   transaction started is withdrawn from it: never written, never removed (journaling.py).
3. A lane delivers it in a batch (delivery.py; lanes.py: the shared POSTs); 2xx: forgotten;
   a dead letter (4xx other than 408/429 at once, or EVENTS_RETRY_HOURS of retries): kept,
   listed by `dead_letters()`, queued again by `replay()`.

A Webhook Event (`receive_webhook`) is recognised when Discord sends it again, to this node
or, on a store every node shares, to another (gateway/journal/events.py, `WebhookClaim`).

Several nodes on one Redis: a gateway event is kept with its shard and delivered by the node
holding that shard's lease (shards.py): a node starts with none of them (`start(shards=())`),
reads a shard's pending events and the marks when it takes the shard (`take_shard`, before
the shard resumes: what the last holder left goes first, and its RESUME journals nothing
twice) and stops delivering them when it gives the shard up (`give_shard`). The other pending
events (Webhook Events, replayed dead letters) are the node's own: when a node dies,
`adopt(group)` (on the node that adopts it) moves them here. The dead letters are every
node's: any node lists, replays and forgets them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.delivery.sender import Report, SignedSender
from gateway.events.dead_letters import DeadLetters, decoded
from gateway.events.delivery import Deliveries
from gateway.events.filters import Forwards, guild_of
from gateway.events.journaling import Journaling
from gateway.events.lanes import Lanes
from gateway.events.marks import SessionMarks
from gateway.events.model import (
    GATEWAY,
    Event,
    gateway_event_id,
)
from gateway.events.shards import ShardEvents
from gateway.events.stats import EventStats
from gateway.events.webhooks import WebhookIntake
from gateway.journal.events import (
    MARK_KEEP,
    WEBHOOK_KEEP,
    Change,
    EventStore,
    WebhookClaim,
)

log = logging.getLogger("gateway.events")

#: /health is degraded while the oldest pending event is older than this (s), or a drop was
#: this recent.
STALE_AFTER = 300.0
PRUNE_EVERY = 600.0
#: At most one audit line about drops per this many seconds.
NOTICE_EVERY = 60.0
#: How long the stop waits for the journal to write what is queued (s).
JOURNAL_CLOSE_GRACE = 10.0


class ShardLike(Protocol):
    """What an event needs of the shard it came on (gateway.connection.shard.Shard)."""

    shard_id: int
    session_id: str | None
    seq: int | None


class Dispatches(Protocol):
    """Where dispatches come from (gateway.connection.manager.GatewayManager)."""

    def on_inline(self, event: str, handler: Callable[[Any, Any], None]) -> Any: ...


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
        clocks: Clocks = SYSTEM_CLOCKS,
        notice: Callable[[str], None] | None = None,
        webhooks: bool = True,
    ) -> None:
        """Neither `forwards` nor `webhooks`: idle (no dispatch handled, no lane, no pruning, no
        dead letters; its health `{"ok": True, "enabled": False}`)."""
        self.sender = sender
        self.forwards = forwards
        self.enabled = bool(forwards) or webhooks
        self.max_pending = max_pending
        self._wall = clocks.wall
        self._notice = notice
        self.store = store
        self.journaling = Journaling(store)
        self.journal = self.journaling.writer
        self.stats = EventStats()
        self.shards = ShardEvents()  # every shard's, until start() says
        self.deliveries = Deliveries(
            sender,
            url,
            stats=self.stats,
            shards=self.shards,
            journaling=self.journaling,
            died=self._died,
            wall=clocks.wall,
        )
        self.lanes = Lanes(
            self.deliveries.batch,
            batch_max=batch_max,
            batch_wait=batch_wait_ms / 1000,
            shared=self.deliveries.shared,
            clocks=clocks,
        )
        self.letters = DeadLetters(
            store,
            self.journal,
            self.lanes,
            self.stats,
            max_kept=max_pending,
            clocks=clocks,
        )
        self.bot_user_id: str | None = None
        self._marks = SessionMarks()
        self.webhooks = WebhookIntake(store, self.stats, self._admit, clocks.wall)
        self._n = 0
        self._last_drop: float | None = None
        self._last_notice = 0.0
        self._pruner: asyncio.Task[None] | None = None
        self.started = False

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self, shards: Sequence[int] | None = None) -> None:
        """Load the journal: the pending events go to their lanes (in arrival order), the dead
        letters are listed, the marks dedupe what a resume replays. `shards`: the shards whose
        events this node delivers (None: every one; () with leases: `take_shard` adds them)."""
        self.shards.held = None if shards is None else set(shards)
        contents = await self.store.load(shards)
        self._marks.seqs = dict(contents.marks)
        self.webhooks.known(contents.webhooks)
        self.letters.known(decoded(contents.dead))
        self._n = max((e.n for e in self.dead.values()), default=0)
        pending = self._stored(decoded(contents.pending), contents.shards)
        if pending:
            log.warning("events: %d pending from the last run, delivered again", pending)
        self.started = True
        if self.enabled:
            loop = asyncio.get_running_loop()
            self._pruner = loop.create_task(self._prune(), name="events-prune")

    async def stop(self, grace: float = 2.0) -> None:
        if self._pruner is not None:
            self._pruner.cancel()
            await asyncio.gather(self._pruner, return_exceptions=True)
        await self.lanes.stop(grace, lambda: self.sender.stats.in_flight == 0)
        await self.journal.aclose(JOURNAL_CLOSE_GRACE)
        await self.store.aclose()
        await self.sender.poster.aclose()

    def _stored(self, events: list[Event], shards: Mapping[str, int]) -> int:
        """Events read from the store (at start, a shard taken, adopted), in arrival order, to
        their lanes unless pending here already; a dead one among them (a replay cut short, a
        file of an earlier version) back to the dead letters. Returns how many went."""
        events = self.shards.unknown(events, shards)
        self._n = max(self._n, max((e.n for e in events), default=0))
        self.letters.restore([e for e in events if e.dead])
        live = [e for e in events if not e.dead]
        self.lanes.push(live)
        self._bound()
        return len(live)

    async def adopt(self, group: str) -> int:
        """A dead node's pending events (its `group`) moved here and delivered under their
        ids, oldest first; its marks learned first. Returns how many."""
        contents = await self.store.adopt(group)
        self._marks.learn(contents.marks)
        adopted = self._stored(decoded(contents.pending), contents.shards)
        if adopted:
            log.warning("events: %d pending of %s adopted, delivered here", adopted, group)
        return adopted

    async def take_shard(self, shard: int) -> int:
        """This node now holds `shard` (before it resumes it): the events pending there,
        oldest first, and the marks. Returns how many."""
        self.shards.take(shard)  # its new events are delivered here, whatever comes next
        contents = await self.store.take_shard(shard)
        self._marks.learn(contents.marks)
        taken = self._stored(decoded(contents.pending), contents.shards)
        if taken:
            log.warning("events: %d pending of shard %d taken over, delivered here", taken, shard)
        return taken

    async def shard_changed(self, shard: int, held: bool) -> None:
        """`ShardLeases.on_shard`: a shard taken here (before it resumes), or given up."""
        if held:
            await self.take_shard(shard)
        else:
            await self.give_shard(shard)

    async def give_shard(self, shard: int) -> None:
        """This node no longer holds `shard` (stopped): its events are the next holder's, and
        what this node journaled of them is written before the lease goes."""
        self.shards.give(shard)
        try:
            await asyncio.wait_for(self.journal.flush(), JOURNAL_CLOSE_GRACE)
        except TimeoutError:
            log.error("events: shard %d given up before its events were written", shard)

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
        """Handle each forwarded dispatch inline in the gateway's dispatch loop (and READY);
        none when idle."""
        if not self.enabled:
            return
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
        if self._marks.replayed(key, seq):
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
        self.shards.came(event.id, shard.shard_id)
        change = self._admit(event)
        change.marks[key] = (seq, now)
        change.shards[event.id] = shard.shard_id
        self._bound()

    async def receive_webhook(self, body: Any) -> WebhookClaim:
        """A Webhook Event from the route (webhooks.py says what comes back)."""
        claim = await self.webhooks.receive(body)
        self._bound()
        return claim

    def _admit(self, event: Event) -> Change[Event]:
        """`event` to its lane, and into the journal (journaling.py): the change returned
        takes its mark, shard or webhook id."""
        self._n += 1
        event.n = self._n
        self.stats.count(self.stats.received, event.type)
        change = self.journaling.add(event)
        self.lanes.push((event,))
        return change

    def _bound(self) -> None:
        while self.pending > self.max_pending and self._drop_oldest():
            pass

    def _forgotten(self, batch: Sequence[Event]) -> None:
        """Delivered or dropped: out of the journal."""
        self.journaling.forget(batch, self.shards.done([event.id for event in batch]))

    # -- the backlog bound ------------------------------------------------------------------
    @property
    def pending(self) -> int:
        return self.lanes.pending

    def _drop_oldest(self) -> bool:
        event = self.lanes.drop_oldest()
        if event is None:
            return False
        self._forgotten((event,))
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

    # -- dead letters (dead_letters.py) -----------------------------------------------------
    def _died(self, batch: list[Event], report: Report, shards: dict[str, int]) -> None:
        self.letters.died(batch, report, shards)

    @property
    def dead(self) -> dict[str, Event]:
        return self.letters.kept

    async def dead_letters(self) -> list[dict[str, Any]]:
        return await self.letters.listed()

    async def replay(self, ids: list[str] | None = None) -> int:
        return await self.letters.replay(ids)

    async def forget(self, ids: list[str] | None = None) -> int:
        return await self.letters.forget(ids)

    # -- health ---------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        if not self.enabled:
            return {"ok": True, "enabled": False}
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
            self._marks.prune(now)
            self.journal.submit(Change(prune_before=now - max(WEBHOOK_KEEP, MARK_KEEP)))
