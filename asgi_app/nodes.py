"""Several nodes on one REDIS_URL: the shard leases built from the settings (SHARD_IDS=auto),
what a node does when another one dies (its journaled interactions adopted and forwarded
again, with X-Redelivery), and the league timers shared (one runner by role lease, every
change seen by every node: gateway/timers/sync.py). The leases: gateway/connection/leases.py."""

from __future__ import annotations

import logging
from collections.abc import Callable

from asgi_app.settings import Settings
from gateway.connection.lease import LeaseTimings, RoleLease
from gateway.connection.leases import NodeDead, ShardLeases
from gateway.connection.redis_store import redis_client
from gateway.interactions.journal_redis import RedisJournal
from gateway.interactions.journal_replay import Redeliver, replay_entries
from gateway.interactions.journal_types import Journal
from gateway.timers.service import TimerService
from gateway.timers.store import TimerStore
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


def adopter(journal: Callable[[], Journal | None], redeliver: Redeliver) -> NodeDead:
    """`on_node_dead`: the dead node's journal entries moved to this node's and forwarded
    again (X-Redelivery), as at a restart."""

    async def adopt(node: str) -> None:
        found = journal()
        if not isinstance(found, RedisJournal):
            return
        entries = await found.adopt(journal_group(node))
        if entries:
            log.warning("node %s is gone: %d interactions forwarded again here", node, len(entries))
            await replay_entries(found, entries, redeliver)

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
