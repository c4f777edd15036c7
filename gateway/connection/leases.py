"""Shard leases (SHARD_IDS=auto with REDIS_URL): the nodes share the shards through Redis.

Each shard is held by one node at a time through a lease (lease_store.py: `lease:{shard}`,
`node|fence`, 15 s, renewed every 5 s with the node's heartbeat). The fencing number is
checked in Redis before every IDENTIFY and RESUME (`Lease.confirm`), and the lease's local
deadline (the renewal's start + ttl - margin, on the monotonic clock) before every send
(`Lease.valid`): a node that lost a lease, or was frozen past it (SIGSTOP, a stalled VM), closes
that shard before sending anything on it. Session checkpoints are written only while the lease
holds (`FencedSessionStore`), so a stale node never overwrites the new holder's.

The loop (`ShardLeases`): heartbeat (renew what is held, learn which nodes died), adopt the
dead nodes' leftovers (`on_node_dead`: the journal's interactions in flight, the node's own
events), read the view, and follow the plan (lease_plan.py): take free shards up to the
node's target, give up what is above it. A taken shard resumes from its checkpoint in Redis,
after its `on_shard` listeners (its pending events read first). A hand-over (a node above its
target, or SIGTERM) stops the shard, saves its session, tells `on_shard`, releases the lease
and announces it on the `leases` channel, so the taker resumes within a second.
The loop wakes at each renewal, at each announcement, and just after the earliest expiry of
another node's lease (a takeover comes within a few ms of the expiry, within ttl + 1 s of a
crash). Every timing is in `LeaseTimings` (`scaled(ttl)` for tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.connection.lease import FencedSessionStore, Lease, LeaseStats, LeaseTimings, node_id
from gateway.connection.lease_plan import plan
from gateway.connection.lease_store import LeaseStore, View
from gateway.connection.redis_store import PREFIX

if TYPE_CHECKING:
    from gateway.connection.manager import GatewayManager
    from gateway.connection.shard import Shard

log = logging.getLogger("gateway.leases")
#: At most this long (or the lease's length) for a stop's hand-over (Redis may not answer).
STOP_BOUND = 5.0

NodeDead = Callable[[str], Awaitable[None]]
ShardChange = Callable[[int, bool], Awaitable[None]]


class ShardLeases:
    """This node's part of SHARD_IDS=auto (module docstring). `start(manager, count)` once
    /gateway/bot is known (the manager makes the shards taken); `stop()` hands every shard
    over (SIGTERM); `finish()` at the very end lets the others adopt what is left in this
    node's journal."""

    def __init__(
        self,
        client: Redis,
        *,
        timings: LeaseTimings | None = None,
        shard_count: int | None = None,
        node: str | None = None,
        prefix: str = PREFIX,
        clocks: Clocks = SYSTEM_CLOCKS,
    ) -> None:
        self.node = node or node_id()
        self.timings = timings or LeaseTimings()
        self.configured_count = shard_count
        self.store = LeaseStore(client, self.node, prefix)
        self.client = client
        self._clocks = clocks
        self._clock = clocks.monotonic
        self._wall = clocks.wall
        self.held: dict[int, Lease] = {}
        self.stats = LeaseStats()
        self.view: View | None = None
        self.shard_count = 0
        self._manager: GatewayManager | None = None
        self._dead_listeners: list[NodeDead] = []
        self._shard_listeners: list[ShardChange] = []
        self._free_since: dict[int, float] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._settle_until = 0.0
        self._stopping = False
        self._lock = asyncio.Lock()  # one step at a time: the loop, then stop()

    @property
    def joined(self) -> bool:
        """Started and not stopped: the loop runs (holding shards or not)."""
        return bool(self._tasks) and not self._stopping

    def sessions(self, clocks: Clocks) -> FencedSessionStore:
        return FencedSessionStore(self.client, self.store, self.held, clocks=clocks)

    def on_node_dead(self, listener: NodeDead) -> None:
        """`await listener(node)` once per dead node, on the one node that adopts it."""
        self._dead_listeners.append(listener)

    def on_shard(self, listener: ShardChange) -> None:
        """`await listener(shard, True)` once a lease is taken here, before the shard starts;
        `(shard, False)` once one is stopped here, before its release (or after its loss)."""
        self._shard_listeners.append(listener)

    async def _tell(self, shard: int, held: bool) -> None:
        for listener in self._shard_listeners:
            try:
                await listener(shard, held)
            except Exception as exc:  # the shard goes on; its events wait for the next holder
                log.warning("shard %d: a listener failed (%s)", shard, exc.__class__.__name__)

    # ---- lifecycle ----------------------------------------------------------------------
    async def start(self, manager: GatewayManager, recommended: int) -> None:
        """Join in the background (retried while Redis is away): the shard count agreed, the
        node registered and announced, then the loop and the announcement listener."""
        self._manager = manager
        self._stopping = False
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._run(recommended), name="shard-leases"),
            loop.create_task(self.store.listen(self._wake.set), name="shard-leases-listen"),
        ]

    async def _join(self, recommended: int) -> None:
        self.shard_count = await self.store.shard_count(self.configured_count, recommended)
        earlier = await self.store.retire_earlier()
        if earlier:
            log.warning("shard leases: %s restarted: its leases are taken back", earlier)
        await self.store.heartbeat({}, self.timings.ttl_ms)
        view = await self.store.view([str(s) for s in range(self.shard_count)])
        # A cold start waits to see the peers starting with it; a node joining running ones
        # takes what they hand over at once.
        running = any(node is not None for node, _ in view.holders.values())
        self._settle_until = self._clock() + (0.0 if running else self.timings.settle)
        await self.store.announce("join")
        log.info("shard leases: node %s joined (%d shards)", self.node, self.shard_count)

    async def stop(self) -> None:
        """SIGTERM: not live any more, every shard stopped, its session saved, its lease
        released and announced (a live node resumes it within a second)."""
        self._stopping = True
        self._wake.set()
        async with self._lock:  # never in the middle of a step (a lease taken, not yet held)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks = []
            if self._manager is None:
                return
            try:  # bounded: a stop never hangs on Redis (what is not released runs out)
                async with asyncio.timeout(max(self.timings.ttl, STOP_BOUND)):
                    with contextlib.suppress(Exception):
                        await self.store.depart(self.timings.ttl_ms)
                    await self._hand_over(sorted(self.held))
            except TimeoutError:
                log.error("shard leases: hand-over of %s unfinished at stop", sorted(self.held))

    async def finish(self) -> None:
        """After the journal's last finish: the others adopt what is left at once."""
        if self._manager is None:
            return
        try:
            await self.store.gone()
            await self.store.announce("gone")
        except Exception as exc:
            log.warning("shard leases: could not announce the exit (%s)", exc.__class__.__name__)

    # ---- the loop -----------------------------------------------------------------------
    async def _run(self, recommended: int) -> None:
        while not self._stopping:
            try:
                await self._join(recommended)
                break
            except Exception as exc:
                log.warning("shard leases: cannot join yet (%s)", exc.__class__.__name__)
                await asyncio.sleep(min(1.0, self.timings.renew))
        while not self._stopping:
            self._wake.clear()
            try:
                async with self._lock:
                    if self._stopping:
                        return
                    delay = await self._step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("shard leases: step failed (%s)", exc.__class__.__name__)
                await self._expire_local()
                delay = min(1.0, self.timings.renew)
            delay = min(delay, self._until_deadline())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, delay))

    def _until_deadline(self) -> float:
        deadlines = [lease.valid_until for lease in self.held.values()]
        return min(deadlines, default=float("inf")) - self._clock() + 0.01

    async def reshard(self, recommended: int) -> None:
        """Discord closed a shard here with 4011 (SHARD_COUNT not pinned): the count every
        node uses raised to /gateway/bot's `recommended`, announced; at its next step each
        node stops its shards of the old count and takes shards of the new one."""
        agreed = await self.store.raise_shard_count(recommended)
        log.warning("shard leases: close 4011: %d shards from now on", agreed)
        await self.store.announce("reshard")
        self._wake.set()

    async def _recount(self, count: int) -> None:
        """Another shard count agreed: every shard of the old one stopped (its session is of
        no use now: not saved), its lease released; none held until the plan takes some."""
        old = sorted(self.held)
        shards = [s for s in (self._shard(i) for i in old) if s is not None]
        await asyncio.gather(*(s.stop(resumable=False) for s in shards))
        store = self._manager.session_store if self._manager else None
        if store is not None:
            await store.clear_all(old)
        for i in old:
            await self._tell(i, False)
        await self.store.release({str(i): self.held[i].token for i in old})
        for shard in shards:
            self._forget(shard)
        was = self.shard_count
        log.warning("shard leases: %d shards now (was %d); stopped %s", count, was, old)
        self.held.clear()
        self._free_since.clear()
        self.shard_count = count

    async def _step(self) -> float:
        started, t = self._clock(), self.timings
        if self.configured_count is None:
            agreed = await self.store.agreed_count()
            if agreed is not None and agreed != self.shard_count:
                await self._recount(agreed)
        await self._expire_local()
        held = {str(s): lease.token for s, lease in self.held.items()}
        beat = await self.store.heartbeat(held, t.ttl_ms)
        for shard, lease in list(self.held.items()):
            if str(shard) in beat.renewed:
                lease.renewed(started, self._wall())
            else:
                await self._drop(shard, "lease held by another node")
        for dead in beat.dead:
            await self._adopt(dead)
        names = [str(s) for s in range(self.shard_count)]
        view = self.view = await self.store.view(names)
        # an earlier incarnation's shards (this node restarted): free for this node to take
        holders = {
            int(n): None if self.store.earlier(node) else node
            for n, (node, _) in view.holders.items()
        }
        now = self._clock()
        for shard, node in holders.items():
            if node is None:
                self._free_since.setdefault(shard, now)
            else:
                self._free_since.pop(shard, None)
        free_for = {s: now - since for s, since in self._free_since.items()}
        taking = now >= self._settle_until
        decided = plan(
            self.node,
            self.shard_count,
            holders,
            view.live,
            free_for=free_for,
            grace=t.grace,
            taking=taking,
        )
        if decided.give or decided.take:
            log.debug("leases: live %s, plan %s", view.live, decided)
        if decided.give:
            await self._hand_over(list(decided.give))
        for shard in decided.take:
            await self._take(shard)
        return self._next_look(view, now, taking)

    def _next_look(self, view: View, now: float, taking: bool) -> float:
        t = self.timings
        waits = [t.renew]
        if not taking:
            waits.append(self._settle_until - now)
        for node, pttl in view.holders.values():
            if node is not None and node != self.node and pttl > 0:
                waits.append(pttl / 1000 + t.slack)
        if self._free_since:
            waits.append(t.grace - max(now - s for s in self._free_since.values()) + t.slack)
        return max(0.0, min(waits))

    async def _expire_local(self) -> None:
        """Leases past their local deadline (renewals failing: Redis away): closed."""
        for shard, lease in list(self.held.items()):
            if not lease.valid():
                await self._drop(shard, "lease expired before it could be renewed")

    # ---- taking and giving up -----------------------------------------------------------
    async def _take(self, shard: int) -> None:
        manager = self._manager
        assert manager is not None
        started = self._clock()
        taken = await self.store.acquire(str(shard), self.timings.ttl_ms)
        if taken is None:
            return
        lease = Lease.taken(
            str(shard), taken.fence, started, self.store, self.timings, self._clocks
        )
        self.held[shard] = lease
        self._free_since.pop(shard, None)
        self.stats.taken += 1
        last_node, _, how = taken.last.rpartition("|")
        if last_node and last_node != self.node:
            if how == "released":
                self.stats.handovers += 1
            else:
                self.stats.takeovers += 1
        store = manager.session_store
        saved = (await store.load_all(self.shard_count, [shard])).get(shard) if store else None
        await self._tell(shard, True)  # what was pending on it goes before what it resumes
        manager.add_shard(shard, self.shard_count, saved, lease=lease)
        log.info(
            "shard %d: lease taken (fence %d, %s), %s",
            shard,
            taken.fence,
            f"last {taken.last}" if taken.last else "never held",
            "resuming" if saved else "identifying",
        )

    def _shard(self, shard_id: int) -> Shard | None:
        manager = self._manager
        found = [s for s in manager.shards if s.shard_id == shard_id] if manager else []
        return found[0] if found else None

    def _forget(self, shard: Shard) -> None:
        if self._manager is not None:
            self._manager.remove_shard(shard)

    async def _drop(self, shard_id: int, why: str) -> None:
        """A lease lost: the shard closed at once, nothing saved, nothing released."""
        lease = self.held.pop(shard_id, None)
        if lease is not None:
            lease.lost = True
            self.stats.lost += 1
        shard = self._shard(shard_id)
        log.warning("shard %d: %s: closed", shard_id, why)
        if shard is not None:
            await shard.stop(resumable=True)
            self._forget(shard)
        await self._tell(shard_id, False)

    async def _hand_over(self, shard_ids: Sequence[int]) -> None:
        """Stop, checkpoint, release, announce: the taker resumes from this session."""
        manager = self._manager
        if not shard_ids or manager is None:
            return
        shards = [s for s in (self._shard(i) for i in shard_ids) if s is not None]
        results = await asyncio.gather(*(s.stop(resumable=True) for s in shards))
        sessions = [s for s in results if s is not None]
        store = manager.session_store
        if sessions and store is not None:
            try:
                await store.save_all(sessions)
            except Exception as exc:
                log.warning("hand-over: sessions not saved (%s)", exc.__class__.__name__)
        for i in shard_ids:  # before the release: the taker reads what was written
            await self._tell(i, False)
        held = {str(i): self.held[i].token for i in shard_ids if i in self.held}
        try:
            await self.store.release(held)
            await self.store.announce("release")
        except Exception as exc:
            log.warning("hand-over: leases not released (%s)", exc.__class__.__name__)
        for shard in shards:
            self._forget(shard)
        for i in shard_ids:
            if self.held.pop(i, None) is not None:
                self.stats.released += 1
        log.info("shards %s handed over (%d sessions saved)", list(shard_ids), len(sessions))

    async def _adopt(self, node: str) -> None:
        for listener in self._dead_listeners:
            await listener(node)  # a failure leaves the node to adopt at the next step
        await self.store.bury(node)
        self.stats.adopted += 1
        log.warning("node %s is gone: its leftovers adopted by %s", node, self.node)

    # ---- state --------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """For /health/detailed: live nodes, who holds what, this node's leases and ages."""
        now = self._wall()
        view = self.view
        holders: dict[str, list[int]] = {}
        free: list[int] = []
        if view is not None:
            for name, (node, _) in view.holders.items():
                if node is None:
                    free.append(int(name))
                else:
                    holders.setdefault(node, []).append(int(name))
        return {
            "node": self.node,
            "shard_count": self.shard_count,
            "live_nodes": sorted(view.live) if view else [],
            "holders": {node: sorted(ids) for node, ids in sorted(holders.items())},
            "free": sorted(free),
            "leases": [
                {
                    "shard_id": shard,
                    "fence": lease.fence,
                    "held_s": round(now - lease.taken_at, 3),
                    "renewed_s_ago": round(now - lease.renewed_at, 3),
                    "valid": lease.valid(),
                }
                for shard, lease in sorted(self.held.items())
            ],
            "stats": asdict(self.stats),
        }
