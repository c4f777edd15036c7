"""Several nodes on one REDIS_URL: the shard leases built from the settings (SHARD_IDS=auto),
the group each node's journal keeps its own in (`store_group`), what a node does when another
one dies (its journaled interactions adopted and forwarded again, with X-Redelivery; its
pending events adopted and delivered under their ids), and the league timers shared (one
runner by role lease, every change seen by every node: gateway/timers/sync.py). The leases:
gateway/connection/leases.py."""

from __future__ import annotations

import logging

from asgi_app.settings import Settings
from gateway.connection.lease import LeaseTimings, RoleLease
from gateway.connection.leases import NodeDead, ShardLeases
from gateway.events.service import EventService
from gateway.journal.interactions import Journal
from gateway.journal.interactions_replay import Redeliver, replay_entries
from gateway.journal.timers import TimerStore
from gateway.redis_client import redis_client
from gateway.timers.service import TimerService
from gateway.timers.sync import TimerSync

log = logging.getLogger("asgi_app.nodes")


def pinned_shards(settings: Settings) -> list[int] | None:
    """SHARD_IDS as numbers (None: all of them, or auto)."""
    ids = settings.shard_ids
    return list(ids) if isinstance(ids, tuple) else None


def shard_leases(settings: Settings, redis_url: str | None, node: str) -> ShardLeases | None:
    """The leases for SHARD_IDS=auto (None without Redis: the embedded simulator's gateway
    shares nothing, so development runs every shard itself)."""
    if settings.shard_ids != "auto":
        return None
    if redis_url is None:
        log.warning("SHARD_IDS=auto against the embedded simulator: every shard runs here")
        return None
    return ShardLeases(
        redis_client(redis_url),
        timings=LeaseTimings.scaled(settings.shard_lease_seconds),
        shard_count=settings.shard_count,
        node=node,
    )


def journal_group(node: str) -> str:
    return f"node:{node}"


def leased(settings: Settings) -> bool:
    """The shards come by lease: SHARD_IDS=auto with REDIS_URL (not the embedded simulator)."""
    redis = settings.redis_url is not None
    return settings.shard_ids == "auto" and redis and not settings.use_simulator


def store_group(settings: Settings, node: str) -> str:
    """The group this process keeps its journaled interactions and its own pending events in
    (Redis): with leases the node, so each node loads only its own at start and a survivor
    adopts a dead one's; else SHARD_IDS (or "all")."""
    if leased(settings):
        return journal_group(node)
    pinned = pinned_shards(settings)
    return ",".join(str(i) for i in sorted(pinned)) if pinned else "all"


def event_shards(settings: Settings) -> list[int] | None:
    """The shards whose pending gateway events this process loads at start: none with leases
    (each comes with its lease: `EventService.shard_changed`), SHARD_IDS when pinned, else
    every shard (None)."""
    return [] if leased(settings) else pinned_shards(settings)


def adopter(journal: Journal, redeliver: Redeliver, events: EventService) -> NodeDead:
    """`on_node_dead`: the dead node's journal entries moved to this node's and forwarded
    again (X-Redelivery), as at a restart; its pending events moved here and delivered under
    their ids (EventService.adopt). A failure raises: the node is adopted again at the next
    step (both adoptions take only what is still there)."""

    async def adopt(node: str) -> None:
        group = journal_group(node)
        entries = await journal.adopt(group)
        if entries:
            log.warning("node %s is gone: %d interactions forwarded again here", node, len(entries))
            await replay_entries(journal, entries, redeliver)
        await events.adopt(group)

    return adopt


def synced_timers(
    store: TimerStore, redis_url: str | None, node: str
) -> tuple[TimerStore, TimerSync | None]:
    """With Redis, the store whose writes every other node hears of (sync.py)."""
    if redis_url is None:
        return store, None
    sync = TimerSync(redis_url, node)
    return sync.wrap(store), sync


def timer_role(
    settings: Settings, redis_url: str | None, node: str, timers: TimerService
) -> RoleLease | None:
    """With Redis, the timers run on the one node holding `role:timers` (started here)."""
    if redis_url is None:
        return None
    role = RoleLease(
        redis_client(redis_url),
        "timers",
        timers.set_active,
        node=node,
        timings=LeaseTimings.scaled(settings.shard_lease_seconds),
    )
    timers.active = role.active
    role.start()
    return role
