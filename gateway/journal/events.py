"""The events' store: every event from its arrival until the main app's 2xx (or until it is
forgotten), the dead letters, and what dedupes a dispatch that comes again (CONTRACT "Gateway
events for the main app"; the events themselves are gateway/events/).

What a store keeps:
- pending: the events not delivered yet. With Redis a gateway event is kept with the shard it
  came on (`Change.shards`), so whichever node holds that shard delivers it: a node loads the
  shards it runs (`load(shards)`, or `take_shard(n)` when it takes a shard's lease, before it
  resumes it: the events a dead or departed holder left come first, in each guild's order).
  The others (Webhook Events, dead letters replayed) are kept by group (SHARD_IDS, or "all";
  with SHARD_IDS=auto the node, `node:{id}`): `adopt(group)` moves a dead node's into this
  one's in one step (one node gets them). SQLite and memory are one process's: all of it is
  loaded at start;
- dead: the dead letters, one collection for every process on the store, so GET /events/dead
  answers the same on any node; `take_dead(ids)` moves dead letters into this process's
  pending (a replay), `forget_dead(ids)` deletes them;
- marks: per gateway session, the highest seq journaled (a dispatch replayed at or below it
  was journaled already);
- webhooks: the Webhook Event ids seen, with when (kept WEBHOOK_KEEP). `claim_webhook` is
  asked before one is taken: on a store every node shares (Redis), a Webhook Event Discord sent
  again to another node is recognised there (`WebhookClaim`).

A store keeps rows (`EventRecord.to_row()`), never decodes them: `load`, `adopt`, `dead` and
`take_dead` give `(id, row)` pairs in no particular order; the events room decodes them and
orders them by `n`. A `Change` is applied in one transaction: adds (an id already pending or
dead is kept as it is), then
puts (into the dead letters when dead, else pending; out of the other), then removes (out of
this process's pending and the dead letters), marks and webhook ids, the prune.

Stores: `MemoryEventStore` (below: tests, and no STATE_DIR), `events_sqlite.SqliteEventStore`
(STATE_DIR/events.sqlite3), `events_redis.RedisEventStore` (REDIS_URL). `events_writer` is
the group commit in front of one (group_commit.py) with the events' rules.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from gateway.journal.group_commit import GroupCommit

log = logging.getLogger("gateway.events")

#: Shortest time between the starts of two transactions (s): under load each carries what
#: came meanwhile, and an event the main app took meanwhile is never written at all (the
#: events room withdraws its add); an idle store writes at once, and a barrier (a checkpoint,
#: a Webhook Event's 204, a shard given up) does not wait for it. A SIGKILL loses none of
#: what is not written yet: the checkpoint never runs ahead of the journal, so the resume
#: replays it (docs/PERFORMANCE.md "Events").
MIN_INTERVAL = 0.25
#: How long a webhook event id is remembered (Discord's retries of one event come within it).
WEBHOOK_KEEP = 24 * 3600.0
#: How long a session's mark is kept after its last event (a resume is accepted for minutes).
MARK_KEEP = 6 * 3600.0


class EventRecord(Protocol):
    """What a store needs of an event (gateway.events.model.Event)."""

    @property
    def id(self) -> str: ...

    @property
    def n(self) -> int: ...  # arrival order

    @property
    def dead(self) -> bool: ...

    def to_row(self) -> bytes: ...


class WebhookClaim(StrEnum):
    """What the store says of a Webhook Event id about to be taken."""

    NEW = "new"  # nobody took it: this process does (now claimed for WEBHOOK_CLAIM)
    SEEN = "seen"  # journaled already, here or by another process: a duplicate
    BUSY = "busy"  # another process took it moments ago and has not journaled it yet


#: How long a process's claim on a Webhook Event holds before its id is journaled (s): if it
#: dies first, Discord's next retry after that is taken by whichever node gets it.
WEBHOOK_CLAIM = 30.0

R = TypeVar("R", bound=EventRecord)
Row = tuple[str, bytes]  # (event id, its row)
Marks = dict[str, tuple[int, float]]  # session key -> (seq, at)


@dataclass
class Change(Generic[R]):
    add: list[R] = field(default_factory=list)  # new pending events (known ids kept as they are)
    put: list[R] = field(default_factory=list)  # rewritten (dead, queued again)
    remove: list[str] = field(default_factory=list)  # delivered, dropped, forgotten
    shards: dict[str, int] = field(default_factory=dict)  # event id -> the shard it came on
    marks: Marks = field(default_factory=dict)
    webhooks: dict[str, float] = field(default_factory=dict)  # webhook id -> seen at
    prune_before: float | None = None  # forget marks and webhook ids older than this


@dataclass
class Contents:
    pending: list[Row] = field(default_factory=list)
    dead: list[Row] = field(default_factory=list)
    shards: dict[str, int] = field(default_factory=dict)  # pending event id -> its shard
    marks: Marks = field(default_factory=dict)
    webhooks: dict[str, float] = field(default_factory=dict)


class EventStore(Protocol):
    async def load(self, shards: Sequence[int] | None = None) -> Contents:
        """This group's pending events and those of `shards` (None: of every shard), every
        dead letter, the marks, the webhook ids."""
        ...

    async def take_shard(self, shard: int) -> Contents:
        """The pending events of `shard` (this node now holds it), and the marks."""
        ...

    async def claim_webhook(self, webhook_id: str) -> WebhookClaim:
        """Whether this process takes the Webhook Event `webhook_id` (a store of one
        process's: always NEW; the events room remembers what it took)."""
        ...

    async def apply(self, changes: Sequence[Change[Any]]) -> None: ...

    async def adopt(self, group: str) -> Contents:
        """Another group's pending events moved into this one's (those it did not hold
        already), and the marks as they are now."""
        ...

    async def dead(self) -> list[Row]: ...

    async def take_dead(self, ids: Sequence[str] | None) -> list[Row]:
        """Dead letters (`ids`, or all with None) moved into this process's pending."""
        ...

    async def forget_dead(self, ids: Sequence[str] | None) -> int: ...

    async def aclose(self) -> None: ...


def events_writer(
    store: EventStore, on_writing: Callable[[list[Change[R]]], None]
) -> GroupCommit[Change[R]]:
    """The one writer in front of `store`: changes submitted inline (the gateway's dispatch
    loop never waits), a failed write retried while holding the queue, `flush()` the
    checkpoint barrier; `on_writing` told of each transaction's changes as it starts."""
    return GroupCommit(
        store.apply,
        name="events journal",
        retry=True,
        on_writing=on_writing,
        min_interval=MIN_INTERVAL,
    )


class MemoryEventStore:
    """Tests, and no STATE_DIR: what a restart would find (hand the same store to a second
    service). One process's: nothing to adopt."""

    def __init__(self) -> None:
        self.rows: dict[str, bytes] = {}  # pending
        self.dead_rows: dict[str, bytes] = {}
        self.marks: Marks = {}
        self.webhooks: dict[str, float] = {}
        self.transactions = 0
        self.fail = False  # tests: every apply raises
        self.delay = 0.0  # tests: each apply takes this long

    async def load(self, shards: Sequence[int] | None = None) -> Contents:
        return Contents(
            list(self.rows.items()),
            list(self.dead_rows.items()),
            marks=dict(self.marks),
            webhooks=dict(self.webhooks),
        )

    async def take_shard(self, shard: int) -> Contents:
        return Contents(marks=dict(self.marks))  # all of it was loaded at start

    async def claim_webhook(self, webhook_id: str) -> WebhookClaim:
        return WebhookClaim.NEW  # one process's: the service's own memory dedupes

    async def apply(self, changes: Sequence[Change[Any]]) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise OSError("the memory store is told to fail")
        self.transactions += 1
        for change in changes:
            for event in change.add:
                if event.id not in self.dead_rows:
                    self.rows.setdefault(event.id, event.to_row())
            for event in change.put:
                into, out = (
                    (self.dead_rows, self.rows) if event.dead else (self.rows, self.dead_rows)
                )
                into[event.id] = event.to_row()
                out.pop(event.id, None)
            for event_id in change.remove:
                self.rows.pop(event_id, None)
                self.dead_rows.pop(event_id, None)
            self.marks.update(change.marks)
            self.webhooks.update(change.webhooks)
            if change.prune_before is not None:
                cut = change.prune_before
                self.marks = {k: v for k, v in self.marks.items() if v[1] >= cut}
                self.webhooks = {k: v for k, v in self.webhooks.items() if v >= cut}

    async def adopt(self, group: str) -> Contents:
        return Contents(marks=dict(self.marks))

    async def dead(self) -> list[Row]:
        return list(self.dead_rows.items())

    async def take_dead(self, ids: Sequence[str] | None) -> list[Row]:
        chosen = list(self.dead_rows) if ids is None else ids
        moved = [(i, self.dead_rows.pop(i)) for i in chosen if i in self.dead_rows]
        self.rows.update(moved)
        return moved

    async def forget_dead(self, ids: Sequence[str] | None) -> int:
        chosen = list(self.dead_rows) if ids is None else ids
        return sum(self.dead_rows.pop(i, None) is not None for i in chosen)

    async def aclose(self) -> None:
        return None


async def open_event_store(
    state_dir: Path | None, redis_url: str | None, *, group: str = "all"
) -> EventStore:
    """Redis when REDIS_URL is set (this process's pending events under `group`), else SQLite
    in STATE_DIR, else memory (with a warning)."""
    if redis_url:
        from gateway.journal.events_redis import RedisEventStore

        log.info("events journal: redis")
        return await RedisEventStore.open(redis_url, group=group)
    if state_dir is not None:
        from gateway.journal.events_sqlite import SqliteEventStore

        store = await SqliteEventStore.open(state_dir)
        log.info("events journal: %s", store.path.name)
        return store
    log.warning("events journal in memory only: a restart loses what is pending")
    return MemoryEventStore()
