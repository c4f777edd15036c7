"""Discord's Webhook Events in (CONTRACT "Discord's Webhook Events"; the route is
asgi_app/routes/events.py): each is recognised when Discord sends it again, by this node's
memory of the ids it took (kept WEBHOOK_KEEP, loaded from the journal at start) and, on a
store every node shares, by the store's claim (gateway/journal/events.py, `WebhookClaim`), so
a retry that reaches another node is not delivered twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from gateway.clock import Clock
from gateway.events.filters import guild_of
from gateway.events.model import WEBHOOK, Event, webhook_event_id
from gateway.events.stats import EventStats
from gateway.journal.events import WEBHOOK_KEEP, Change, EventStore, WebhookClaim
from gateway.journal.seen import SeenIds

log = logging.getLogger("gateway.events")

#: Most Webhook Event ids remembered (each for WEBHOOK_KEEP; the oldest forgotten first).
WEBHOOKS_REMEMBERED = 200_000

#: Takes an event in (to its lane and the journal); returns the journal change it went into.
Admit = Callable[[Event], Change[Event]]


class WebhookIntake:
    def __init__(self, store: EventStore, stats: EventStats, admit: Admit, wall: Clock) -> None:
        self._store = store
        self._stats = stats
        self._admit = admit
        self._wall = wall
        self.seen = SeenIds(WEBHOOK_KEEP, WEBHOOKS_REMEMBERED)

    def known(self, seen: dict[str, float]) -> None:
        """The ids the journal kept (id -> when it was taken), oldest first."""
        now = self._wall()
        for webhook_id, at in sorted(seen.items(), key=lambda item: item[1]):
            self.seen.add(webhook_id, at, now)

    async def receive(self, body: Any) -> WebhookClaim:
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
        if event_id not in self.seen:
            try:
                claim = await self._store.claim_webhook(event_id)
            except Exception as exc:  # the journal cannot write either: at least once
                log.warning("events: webhook claim failed (%s); taken", type(exc).__name__)
                claim = WebhookClaim.NEW
        now = self._wall()
        if claim is WebhookClaim.BUSY:
            return claim
        if claim is WebhookClaim.SEEN or not self.seen.add(event_id, now, now):
            self._stats.count(self._stats.duplicates, wrapped["type"])
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
        return WebhookClaim.NEW
