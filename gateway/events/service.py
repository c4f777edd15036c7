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
   transaction started is withdrawn from it (`_withdrawn`): never written, never removed.
3. A lane delivers it in a batch through the shared `SignedSender` (gateway/delivery/); 2xx:
   forgotten; a dead letter (4xx other than 408/429 at once, or EVENTS_RETRY_HOURS of
   retries): kept, listed by `dead_letters()`, queued again by `replay()`.

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
from gateway.delivery.sender import Outcome, Report, SignedSender, retry_after_seconds
from gateway.events.dead_letters import DeadLetters, decoded
from gateway.events.filters import Forwards, guild_of
from gateway.events.lanes import Lanes
from gateway.events.marks import SessionMarks
from gateway.events.model import (
    GATEWAY,
    WEBHOOK,
    Event,
    batch_id,
    gateway_event_id,
    webhook_event_id,
)
from gateway.events.shards import ShardEvents
from gateway.events.stats import EventStats
from gateway.journal.events import (
    MARK_KEEP,
    WEBHOOK_KEEP,
    Change,
    EventStore,
    WebhookClaim,
    events_writer,
)
from gateway.journal.seen import SeenIds

log = logging.getLogger("gateway.events")

#: /health is degraded while the oldest pending event is older than this (s), or a drop was
#: this recent.
STALE_AFTER = 300.0
PRUNE_EVERY = 600.0
#: At most one audit line about drops per this many seconds.
NOTICE_EVERY = 60.0
#: Most Webhook Event ids remembered (each for WEBHOOK_KEEP; the oldest forgotten first).
WEBHOOKS_REMEMBERED = 200_000
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
        self.url = url
        self.forwards = forwards
        self.enabled = bool(forwards) or webhooks
        self.max_pending = max_pending
        self._wall = clocks.wall
        self._notice = notice
        self.store = store
        self.journal = events_writer(store, self._writing)
        self.lanes = Lanes(
            self._deliver,
            batch_max=batch_max,
            batch_wait=batch_wait_ms / 1000,
            shared=self._deliver_shared,
            clocks=clocks,
        )
        self.stats = EventStats()
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
        self._webhooks = SeenIds(WEBHOOK_KEEP, WEBHOOKS_REMEMBERED)
        self._n = 0
        self.shards = ShardEvents()  # every shard's, until start() says
        #: The journal's change new events join, until its transaction starts (`_writing`).
        self._open: Change[Event] | None = None
        #: Ids of the events in a change whose transaction has not started, and of those of
        #: them delivered or dropped meanwhile (withdrawn from it as it starts).
        self._unwritten: set[str] = set()
        self._withdrawn: set[str] = set()
        self._last_drop: float | None = None
        self._last_notice = 0.0
        self._pruner: asyncio.Task[None] | None = None
        self.started = False

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self, shards: Sequence[int] | None = None) -> None:
        """Load the journal: the pending events go to their lanes (in arrival order), the dead
        letters are listed, the marks dedupe what a resume replays. `shards`: the shards whose
        events this node delivers (None: every one; () with leases: `take_shard` adds them)."""
        self.shards = ShardEvents(shards)
        contents = await self.store.load(shards)
        self._marks.seqs = dict(contents.marks)
        now = self._wall()
        for webhook_id, at in sorted(contents.webhooks.items(), key=lambda item: item[1]):
            self._webhooks.add(webhook_id, at, now)
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
        """A Webhook Event (`"type": 1`, its `event` an object with a string `type`; else
        ValueError) as an event with source "webhook": NEW, taken (journaled next); SEEN,
        Discord sent it before, to this node or (on a shared store) another one: dropped;
        BUSY, another node took it moments ago and has not journaled it yet: not taken (the
        route asks Discord to send it again)."""
        wrapped = body.get("event") if isinstance(body, dict) else None
        if not isinstance(wrapped, dict) or not isinstance(wrapped.get("type"), str):
            raise ValueError("not a Webhook Event")
        event_id = webhook_event_id(wrapped)
        claim = WebhookClaim.SEEN
        if event_id not in self._webhooks:
            try:
                claim = await self.store.claim_webhook(event_id)
            except Exception as exc:  # the journal cannot write either: at least once
                log.warning("events: webhook claim failed (%s); taken", type(exc).__name__)
                claim = WebhookClaim.NEW
        now = self._wall()
        if claim is WebhookClaim.BUSY:
            return claim
        if claim is WebhookClaim.SEEN or not self._webhooks.add(event_id, now, now):
            self.stats.count(self.stats.duplicates, wrapped["type"])
            return WebhookClaim.SEEN
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
        self._admit(event).webhooks[event_id] = now
        self._bound()
        return WebhookClaim.NEW

    def _admit(self, event: Event) -> Change[Event]:
        """`event` to its lane, and into the journal's open change (returned: the caller adds
        its mark, shard or webhook id): one change gathers the events that come until its
        transaction starts."""
        self._n += 1
        event.n = self._n
        self.stats.count(self.stats.received, event.type)
        change = self._open
        if change is None:
            change = self._open = Change()
            self.journal.submit(change)
        change.add.append(event)
        self._unwritten.add(event.id)
        self.lanes.push((event,))
        return change

    def _bound(self) -> None:
        while self.pending > self.max_pending and self._drop_oldest():
            pass

    def _writing(self, changes: list[Change[Event]]) -> None:
        """A transaction starts with `changes`: the events withdrawn meanwhile leave them,
        the adds left can no longer be withdrawn, and new events go into a new change."""
        self._open = None
        unwritten, withdrawn = self._unwritten, self._withdrawn
        for change in changes:
            if withdrawn and change.add:
                kept: list[Event] = []
                for event in change.add:
                    if event.id in withdrawn:
                        withdrawn.discard(event.id)
                        change.shards.pop(event.id, None)
                    else:
                        kept.append(event)
                change.add = kept
            for event in change.add:
                unwritten.discard(event.id)

    def _forgotten(self, batch: Sequence[Event]) -> None:
        """Delivered or dropped: out of the journal. An add not written yet is withdrawn
        from its change (its marks are written all the same); the rest are removed."""
        removed: list[str] = []
        unwritten, withdrawn = self._unwritten, self._withdrawn
        for event in batch:
            if event.id in unwritten:
                unwritten.discard(event.id)
                withdrawn.add(event.id)
            else:
                removed.append(event.id)
        shards = self.shards.done([event.id for event in batch])
        if removed:
            self.journal.submit(
                Change(remove=removed, shards={i: shards[i] for i in removed if i in shards})
            )

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

    # -- delivery ---------------------------------------------------------------------------
    async def _deliver(self, batch: list[Event]) -> None:
        """A lane's batch, retried until delivered or dead."""
        sent = await self._post(batch)
        if sent is None or sent[1].outcome is Outcome.DELIVERED:
            return
        batch, report = sent
        ids = [event.id for event in batch]
        self._unwritten.difference_update(ids)  # an add not written yet: with the put
        self.letters.died(batch, report, self.shards.done(ids))

    async def _deliver_shared(self, parts: list[list[Event]]) -> float | None:
        """Several lanes' parts in one POST, one attempt (lanes.py, "Shared POSTs"): None when
        delivered, else how long the parts wait before each goes alone (a 429's or 503's
        Retry-After, else 0)."""
        sent = await self._post([event for part in parts for event in part], attempts=1)
        if sent is None:
            return None
        self.stats.shared_posts += 1
        answer = sent[1].answer
        if sent[1].outcome is Outcome.DELIVERED:
            return None
        self.stats.shared_split += 1
        if answer is None or answer.status not in (429, 503):
            return 0.0
        return retry_after_seconds(answer.headers.get("retry-after"), self._wall())

    async def _post(
        self, batch: list[Event], attempts: int | None = None
    ) -> tuple[list[Event], Report] | None:
        """POST `batch`, less the events whose shard another node holds now (None: nothing
        left), and take it as delivered on a 2xx."""
        if gone := self.shards.elsewhere(batch):
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
            stats = self.stats
            now_ms = self._wall() * 1000
            for event in batch:
                stats.count(stats.delivered, event.type)
                stats.latency.observe(max(0.0, now_ms - event.received_at) / 1000)
            self._forgotten(batch)
        return batch, report

    # -- dead letters (dead_letters.py) -----------------------------------------------------
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
